#!/usr/bin/env python3
"""Draws the reference build's wiring as an SVG: the Pi's 40-pin header, and for each pin the
pin table of hardware/README.md uses, its device and what is wired to it.

    scripts/wiring_diagram.py                 writes docs/wiring.svg
    scripts/wiring_diagram.py --check         exit 1 if docs/wiring.svg is not what it would write

The pin table is the one source (tests/test_hardware.py checks it against the example config),
so the picture cannot drift from it: the tests run --check. Plain SVG, no dependencies.
"""

from __future__ import annotations

import sys
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "hardware" / "README.md"
OUT = ROOT / "docs" / "wiring.svg"

POWER = {1: "3V3", 17: "3V3", 2: "5V", 4: "5V", 27: "ID_SD", 28: "ID_SC"}
GROUND = {6, 9, 14, 20, 25, 30, 34, 39}
HEADER = {  # physical pin -> BCM GPIO, the 40-pin header of every Pi since the B+
    3: 2, 5: 3, 7: 4, 8: 14, 10: 15, 11: 17, 12: 18, 13: 27, 15: 22, 16: 23, 18: 24, 19: 10,
    21: 9, 22: 25, 23: 11, 24: 8, 26: 7, 29: 5, 31: 6, 32: 12, 33: 13, 35: 19, 36: 16, 37: 26,
    38: 20, 40: 21,
}
COLOURS = {"3V3": "#e69500", "5V": "#d62728", "GND": "#222222", "used": "#2ca02c",
           "free": "#bbbbbb", "ID": "#9467bd"}

PITCH = 26
TOP = 92
WIDTH = 1200
MID = WIDTH // 2
LEFT_PIN = MID - 18
RIGHT_PIN = MID + 18


def pin_table(text: str) -> list[dict[str, str]]:
    """The markdown table whose header starts with 'device id' (as tests/test_hardware.py)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| device id |"))
    header = [cell.strip() for cell in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, [c.strip() for c in line.strip("|").split("|")], strict=True)))
    return rows


def pin_kind(physical: int, used: set[int]) -> str:
    if physical in GROUND:
        return "GND"
    if physical in POWER:
        return "ID" if POWER[physical].startswith("ID") else POWER[physical]
    return "used" if physical in used else "free"


def pin_name(physical: int) -> str:
    if physical in GROUND:
        return "GND"
    return POWER.get(physical) or f"GPIO {HEADER[physical]}"


def draw(rows: list[dict[str, str]]) -> str:
    by_pin = {int(row["physical pin"]): row for row in rows}
    height = TOP + 20 * PITCH + 70
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, Arial, sans-serif" '
        'font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="{MID}" y="28" font-size="18" text-anchor="middle" font-weight="bold">'
        "Reference wiring: the devices of config/assistant.yaml on the 40-pin header</text>",
        f'<text x="{MID}" y="50" text-anchor="middle" fill="#555555">Pin 1 (3V3) is the corner '
        "nearest the SD card. BCM numbers are what the config uses; the table in "
        "hardware/README.md is the source of this picture.</text>",
        f'<rect x="{MID - 30}" y="{TOP - 20}" width="60" height="{20 * PITCH + 14}" rx="6" '
        'fill="#1f3b2c"/>',
    ]
    for physical in range(1, 41):
        row_index = (physical - 1) // 2
        left = physical % 2 == 1
        y = TOP + row_index * PITCH
        x = LEFT_PIN if left else RIGHT_PIN
        kind = pin_kind(physical, set(by_pin))
        out.append(f'<circle cx="{x}" cy="{y}" r="8" fill="{COLOURS[kind]}" stroke="#ffffff" '
                   'stroke-width="1.5"/>')
        out.append(f'<text x="{x}" y="{y + 4}" font-size="9" text-anchor="middle" '
                   f'fill="#ffffff">{physical}</text>')
        name = pin_name(physical)
        colour = "#000000" if kind == "used" else "#777777"
        if physical in by_pin:
            row = by_pin[physical]
            label = f'{escape(row["device id"])} — {escape(row["function"])}'
            end = 28 if left else WIDTH - 28
            line_start = x - 10 if left else x + 10
            name_x = x - 62 if left else x + 62
            out.append(f'<line x1="{line_start}" y1="{y}" x2="{name_x + (6 if left else -6)}" '
                       f'y2="{y}" stroke="{COLOURS["used"]}" stroke-width="2"/>')
            out.append(f'<text x="{name_x}" y="{y + 4}" text-anchor="{"end" if left else "start"}" '
                       f'font-weight="bold" fill="{colour}">{name}</text>')
            label_x = name_x - 62 if left else name_x + 62
            out.append(f'<text x="{label_x}" y="{y + 4}" '
                       f'text-anchor="{"end" if left else "start"}" '
                       f'textLength="{min(len(label) * 6.4, abs(label_x - end)):.0f}" '
                       f'lengthAdjust="spacingAndGlyphs">{label}</text>')
        else:
            name_x = x - 20 if left else x + 20
            out.append(f'<text x="{name_x}" y="{y + 4}" text-anchor="{"end" if left else "start"}" '
                       f'fill="{colour}">{name}</text>')
    legend_y = TOP + 20 * PITCH + 30
    items = [("used", "wired in the reference build"), ("free", "free GPIO"), ("3V3", "3.3 V"),
             ("5V", "5 V"), ("GND", "ground"), ("ID", "HAT ID EEPROM (leave free)")]
    x = 120
    for kind, text in items:
        out.append(f'<circle cx="{x}" cy="{legend_y}" r="7" fill="{COLOURS[kind]}"/>')
        out.append(f'<text x="{x + 12}" y="{legend_y + 4}">{text}</text>')
        x += 24 + len(text) * 7
    out.append(f'<text x="{MID}" y="{legend_y + 26}" text-anchor="middle" fill="#555555">'
               "Relay boards are active-low (active_high: false); real lamps go through a relay "
               "or MOSFET, never the pin. Details: hardware/README.md</text>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    svg = draw(pin_table(TABLE.read_text(encoding="utf-8")))
    if argv == ["--check"]:
        if not OUT.is_file() or OUT.read_text(encoding="utf-8") != svg:
            print(f"wiring_diagram: {OUT.relative_to(ROOT)} is out of date with "
                  f"{TABLE.relative_to(ROOT)}: run scripts/wiring_diagram.py", file=sys.stderr)
            return 1
        return 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(svg, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
