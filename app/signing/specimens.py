"""Specimen images for test keys: a blue handwritten-like signature and a red round seal (PNG, transparent)."""

from __future__ import annotations

import io
import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = Path(__file__).parent / "fonts" / "NotoSerif-Regular.ttf"
BLUE = (20, 40, 170, 255)
RED = (210, 20, 20, 255)


def signature_png(full_name: str, width: int = 420, height: int = 160) -> bytes:
    """A flowing blue stroke with the name's last word: obviously a specimen, never a real signature."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    points = [
        (20 + x, height / 2 + 30 * math.sin(x / 23 + len(full_name)) * math.exp(-x / 500))
        for x in range(0, width - 40, 4)
    ]
    draw.line(points, fill=BLUE, width=5, joint="curve")
    font = ImageFont.truetype(str(FONT), 44)
    draw.text((width / 2, height / 2 - 5), full_name.split()[-1], font=font, fill=BLUE, anchor="mm")
    return _png(image)


def seal_png(agency_name: str, size: int = 400) -> bytes:
    """A red ring with the agency's name around it and a star in the middle, as seals are drawn."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for inset, width in ((6, 12), (70, 5)):
        draw.ellipse((inset, inset, size - inset, size - inset), outline=RED, width=width)
    font = ImageFont.truetype(str(FONT), 28)
    text = agency_name.upper()
    radius = size / 2 - 40
    span = min(300.0, 12.0 * len(text))
    for index, letter in enumerate(text):
        angle = math.radians(-90 - span / 2 + span * (index + 0.5) / len(text))
        x, y = size / 2 + radius * math.cos(angle), size / 2 + radius * math.sin(angle)
        glyph = Image.new("RGBA", (48, 48), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((24, 24), letter, font=font, fill=RED, anchor="mm")
        rotated = glyph.rotate(-math.degrees(angle) - 90, resample=Image.Resampling.BICUBIC)
        image.alpha_composite(rotated, (int(x - 24), int(y - 24)))
    star = [
        (size / 2 + r * math.cos(math.radians(-90 + 36 * i)), size / 2 + r * math.sin(math.radians(-90 + 36 * i)))
        for i, r in enumerate([60, 24] * 5)
    ]
    draw.polygon(star, fill=RED)
    return _png(image)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
