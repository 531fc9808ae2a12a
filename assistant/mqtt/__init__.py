"""MQTT: Home Assistant discovery, commands through the one executor, state publication, the
appliance's own entities, devices reached over MQTT, several rooms on one broker.

Public surface: ``MqttBridge`` (``connect``, ``attach_home``, ``wake_arbiter``, ``attach_voice``,
``finish``, ``close``), the Protocols a lead wires (``entities.VolumeControl``,
``entities.SensitivityControl``, ``arbiter.WakeArbiter``), and ``arbiter.WakeClaim`` /
``arbiter.decide``. Off when the config has no ``mqtt:`` section.
"""

from assistant.mqtt.arbiter import WakeArbiter, WakeClaim, decide
from assistant.mqtt.bridge import MqttBridge
from assistant.mqtt.entities import SensitivityControl, VolumeControl

__all__ = ["MqttBridge", "SensitivityControl", "VolumeControl", "WakeArbiter", "WakeClaim", "decide"]
