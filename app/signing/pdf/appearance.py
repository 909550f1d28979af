"""How signatures look: the Vietnamese font subset, text and stamp styles, stamp images, the layout constants."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from fontTools import subset
from fontTools.ttLib import TTFont
from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.stamp import StaticStampStyle, TextStampStyle

from app.signing.images import UnreadableImage, open_stamp_image
from app.signing.keys import SigningFailure
from app.signing.pdf.errors import BAD_IMAGE

MM = 72 / 25.4
FONT = Path(__file__).parent.parent / "fonts" / "NotoSerif-Regular.ttf"  # 1000 units/em: pyHanko mis-spaces others

# Latin, Latin-1 and Extended-A, ơ/ư, combining marks, Vietnamese precomposed letters, punctuation, ₫ € № ™.
VIETNAMESE_CODEPOINTS = frozenset(
    (*range(0x20, 0x7F), *range(0xA0, 0x180), 0x1A0, 0x1A1, 0x1AF, 0x1B0, *range(0x300, 0x370), *range(0x1EA0, 0x1F00))
).union(range(0x2010, 0x2028), range(0x2030, 0x203B), (0x20AB, 0x20AC, 0x2116, 0x2122))

Rect = tuple[float, float, float, float]  # x1, y1, x2, y2 in points, origin bottom left

# Defaults for an A4 page laid out per Phụ lục I (margins: left 30 mm, right 20 mm, top 20 mm).
# The filled text's baseline sits FIELD_BASELINE pt above a field's bottom: y = 727 for these two.
NUMBER_RECT: Rect = (122.0, 723.0, 270.0, 743.0)  # ô 3: the number, right of the printed "Số:" under ô 2
DATE_RECT: Rect = (280.0, 723.0, 539.0, 743.0)  # ô 4: place and date, under the motto
PERSONAL_BOX: Rect = (300.0, 140.0, 510.0, 240.0)  # ô 7c: between the leader's title and name, last page
FIELD_FONT_SIZE = 13
FIELD_BASELINE = 4  # room for descenders, which a field's appearance would otherwise clip
PERSONAL_FONT_SIZE = 8
PERSONAL_LEADING = 10  # Vietnamese stacks two marks over a capital: a leading of 1.0 makes lines touch
PERSONAL_TEXT_BAND = 44.0  # bottom band of the personal box holding its four text lines; the image sits above
SEAL_WIDTH = 38 * MM  # a round seal at its real size
CORNER_FONT_SIZE = 10  # Phụ lục I II.8b and I.3: 10 pt, upright, black
CORNER_BOX_SIZE = (215.0, 46.0)  # ô 14 / appendix text box, width and height
CORNER_MARGINS = (42.5, 14.0)  # right and top distance of that box from the page corner: inside the top margin

SIGNATURE_IMAGE_LAYOUT = layout.SimpleBoxLayoutRule(
    x_align=layout.AxisAlignment.ALIGN_MID,
    y_align=layout.AxisAlignment.ALIGN_MID,
    margins=layout.Margins(left=0, right=0, top=0, bottom=int(PERSONAL_TEXT_BAND)),
    inner_content_scaling=layout.InnerScaling.STRETCH_TO_FIT,
)


class _VietnameseFontFactory(GlyphAccumulatorFactory):
    """NotoSerif cut down to Vietnamese once per process: pyHanko re-reads the whole font for every text box."""

    def create_font_engine(self, writer: Any, obj_stream: Any = None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()
        return GlyphAccumulator(
            writer=writer, font_handle=BytesIO(_vietnamese_font()), font_size=self.font_size, obj_stream=obj_stream
        )


@cache
def _vietnamese_font() -> bytes:
    font = TTFont(FONT)
    options = subset.Options()
    options.layout_features = ["kern", "mark", "mkmk", "ccmp", "locl"]  # what HarfBuzz needs for Vietnamese
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=VIETNAMESE_CODEPOINTS)
    subsetter.subset(font)
    buffer = BytesIO()
    font.save(buffer)
    return buffer.getvalue()


@cache
def _font(size: int) -> GlyphAccumulatorFactory:
    return _VietnameseFontFactory(str(FONT), font_size=size)


def _text_style(size: int, **kwargs: Any) -> TextBoxStyle:
    # Both sizes must match or multi-line text is misplaced (pyHanko issue #733).
    return TextBoxStyle(font=_font(size), font_size=size, **kwargs)


def _field_style(x_align: layout.AxisAlignment) -> TextBoxStyle:
    rule = layout.SimpleBoxLayoutRule(
        x_align=x_align,
        y_align=layout.AxisAlignment.ALIGN_MIN,
        margins=layout.Margins(bottom=FIELD_BASELINE),
        inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT,  # a long place name shrinks, never spills
    )
    return _text_style(FIELD_FONT_SIZE, box_layout_rule=rule, text_color=(0, 0, 0))


def _personal_style(image: Any) -> TextStampStyle:
    lines = "Ký bởi: %(full_name)s\n%(position)s\n%(agency_name)s\nThời gian ký: %(signed_at)s"
    text_rule = layout.SimpleBoxLayoutRule(
        x_align=layout.AxisAlignment.ALIGN_MID,
        y_align=layout.AxisAlignment.ALIGN_MIN if image else layout.AxisAlignment.ALIGN_MID,
        margins=layout.Margins.uniform(2),
    )
    return TextStampStyle(
        stamp_text=lines,
        text_box_style=_text_style(PERSONAL_FONT_SIZE, leading=PERSONAL_LEADING, text_color=(0, 0, 0)),
        border_width=0,
        background=PdfImage(image) if image else None,
        background_opacity=1.0,  # pyHanko fades backgrounds to 0.6 by default
        background_layout=SIGNATURE_IMAGE_LAYOUT,
        inner_content_layout=text_rule,
    )


def _corner_style(lines: tuple[str, ...]) -> TextStampStyle:
    # NotoSerif stands in for Times New Roman, which Phụ lục I names: we ship no Times with Vietnamese glyphs.
    return TextStampStyle(
        stamp_text="\n".join(lines),
        text_box_style=_text_style(CORNER_FONT_SIZE, text_color=(0, 0, 0)),
        border_width=0,
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MAX, y_align=layout.AxisAlignment.ALIGN_MAX
        ),
    )


def _seal_style(seal: Any) -> StaticStampStyle:
    # No margins: pyHanko's default 5 pt would shrink the seal below its real size.
    rule = layout.SimpleBoxLayoutRule(
        x_align=layout.AxisAlignment.ALIGN_MID,
        y_align=layout.AxisAlignment.ALIGN_MID,
        inner_content_scaling=layout.InnerScaling.STRETCH_TO_FIT,
    )
    return StaticStampStyle(background=PdfImage(seal), border_width=0, background_layout=rule)


def _personal_params(full_name: str, position: str, agency_name: str, local: datetime) -> dict[str, str]:
    # All user text goes in as parameters, never into the %-template itself.
    return {
        "full_name": full_name,
        "position": position,
        "agency_name": agency_name,
        "signed_at": f"{local:%d/%m/%Y %H:%M:%S} {local.isoformat()[-6:]}",
    }


def _stamp_image(data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return open_stamp_image(data)
    except UnreadableImage as error:
        raise SigningFailure(BAD_IMAGE, detail=error.detail) from error
