"""An offline-first voice assistant appliance for the Raspberry Pi."""

__version__ = "0.1.0"
