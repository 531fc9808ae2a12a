"""The pin table in hardware/README.md agrees with config/assistant.yaml and the 40-pin header."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Config, device_pins, load_config

REPO = Path(__file__).resolve().parent.parent
README = REPO / "hardware" / "README.md"
EXAMPLE = REPO / "config" / "assistant.yaml"

# The Raspberry Pi 40-pin header (every model since the B+): physical pin -> BCM GPIO.
HEADER = {
    3: 2, 5: 3, 7: 4, 8: 14, 10: 15, 11: 17, 12: 18, 13: 27, 15: 22, 16: 23, 18: 24, 19: 10,
    21: 9, 22: 25, 23: 11, 24: 8, 26: 7, 27: 0, 28: 1, 29: 5, 31: 6, 32: 12, 33: 13, 35: 19,
    36: 16, 37: 26, 38: 20, 40: 21,
}
PHYSICAL = {bcm: phys for phys, bcm in HEADER.items()}
ONE_WIRE_GPIO = 4  # the w1-gpio overlay's default


def pin_table(text: str) -> list[dict[str, str]]:
    """The markdown table whose header starts with 'device id'."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| device id |"))
    header = [cell.strip() for cell in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return pin_table(README.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(EXAMPLE)


def by_gpio(rows: list[dict[str, str]]) -> dict[int, dict[str, str]]:
    return {int(row["BCM GPIO"]): row for row in rows}


def test_table_has_the_expected_columns(rows: list[dict[str, str]]) -> None:
    assert list(rows[0]) == ["device id", "BCM GPIO", "physical pin", "function"]


def test_no_pin_listed_twice(rows: list[dict[str, str]]) -> None:
    gpios = [int(row["BCM GPIO"]) for row in rows]
    assert len(gpios) == len(set(gpios)), gpios
    physical = [int(row["physical pin"]) for row in rows]
    assert len(physical) == len(set(physical)), physical


def test_physical_pins_match_the_header(rows: list[dict[str, str]]) -> None:
    for row in rows:
        bcm = int(row["BCM GPIO"])
        assert bcm in PHYSICAL, f"GPIO {bcm} is not on the 40-pin header"
        assert int(row["physical pin"]) == PHYSICAL[bcm], row


def test_every_configured_pin_is_in_the_table(rows: list[dict[str, str]], config: Config) -> None:
    table = by_gpio(rows)
    for device in config.devices:
        for role, pin in device_pins(device).items():
            assert pin in table, f"{device.id} ({role}) GPIO {pin} missing from the pin table"
            assert table[pin]["device id"] == device.id, (device.id, table[pin])


def test_ds18b20_on_the_one_wire_pin(rows: list[dict[str, str]], config: Config) -> None:
    sensors = [d for d in config.devices if (d.source or "").startswith("ds18b20")]
    assert sensors
    row = by_gpio(rows)[ONE_WIRE_GPIO]
    assert row["device id"] in {d.id for d in sensors}
    assert "1-wire" in row["function"]


def test_no_extra_device_rows(rows: list[dict[str, str]], config: Config) -> None:
    # Every row is a configured device, the 1-wire bus, or a reserved feedback pin.
    configured = {pin for d in config.devices for pin in device_pins(d).values()}
    for row in rows:
        pin = int(row["BCM GPIO"])
        if row["device id"].startswith("feedback."):
            assert row["function"].startswith("feedback"), row
            assert pin not in configured, f"feedback GPIO {pin} is used by a device"
        elif pin != ONE_WIRE_GPIO:
            assert pin in configured, f"{row['device id']} GPIO {pin} is not in the config"


def test_feedback_rows(rows: list[dict[str, str]], config: Config) -> None:
    feedback = {row["device id"]: int(row["BCM GPIO"]) for row in rows
                if row["device id"].startswith("feedback.")}
    assert set(feedback) == {"feedback.led_pin", "feedback.button_pin"}
    # When the config sets them, the table must agree.
    for key, pin in feedback.items():
        configured = getattr(config.feedback, key.split(".", 1)[1])
        assert configured in (None, pin), (key, configured, pin)


def test_the_parser_reads_a_table() -> None:
    text = (
        "x\n| device id | BCM GPIO | physical pin | function |\n|---|---|---|---|\n"
        "| a | 4 | 7 | f |\n"
    )
    assert pin_table(text) == [
        {"device id": "a", "BCM GPIO": "4", "physical pin": "7", "function": "f"}
    ]
