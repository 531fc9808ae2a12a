"""Devices: gpiozero devices from config on an injected pin factory, sensors, saved state."""
