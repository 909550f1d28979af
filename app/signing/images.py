"""Images in signing: the signature and seal PNGs, and scanned pages combined into one PDF."""

from __future__ import annotations

from io import BytesIO

from PIL import Image, ImageSequence, UnidentifiedImageError
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from app.errors import N_

MIN_SCAN_DPI = 200  # Phụ lục I Phần II I.2: digitised paper is at least 200 dpi
SCAN_FORMATS = frozenset({"PNG", "JPEG", "TIFF", "MPO"})  # MPO: what some phone cameras call their JPEGs
STAMP_MODES = frozenset({"RGB", "RGBA", "L", "LA"})
BAD_STAMP = N_("The signature or seal image is not a readable PNG.")
NOT_A_SCAN = N_("A file is neither a PDF nor a PNG, JPEG or TIFF image.")
NO_IMAGE = N_("There is no image to digitise.")


class UnreadableImage(ValueError):
    """An image that cannot be used; `message` is an English sentence for translation."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message if not detail else f"{message} ({detail})")
        self.message = message
        self.detail = detail


def is_pdf(data: bytes) -> bool:
    # Readers accept the header anywhere in the first kilobyte, after junk some scanners put in front.
    return b"%PDF-" in data[:1024]


def open_stamp_image(data: bytes) -> Image.Image:
    """The signature or seal picture, decoded and in a colour mode pyHanko can embed."""
    try:
        image: Image.Image = Image.open(BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise UnreadableImage(BAD_STAMP, detail=str(error)) from error
    if image.mode not in STAMP_MODES:
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    return image


def images_to_pdf(files: list[bytes]) -> bytes:
    """One PDF page per image frame, colour kept, 100 % scale at the image's dpi (at least 200 dpi)."""
    buffer = BytesIO()
    canvas = Canvas(buffer, pageCompression=1, pdfVersion=(1, 4))  # Phụ lục I: PDF 1.4 or later
    pages = 0
    for data in files:
        for frame, source in _frames(data):
            dpi_x, dpi_y = _scan_dpi(frame)
            width, height = frame.width * 72 / dpi_x, frame.height * 72 / dpi_y
            canvas.setPageSize((width, height))
            canvas.drawImage(source, 0, 0, width=width, height=height)
            canvas.showPage()
            pages += 1
    if not pages:
        raise UnreadableImage(NO_IMAGE)
    canvas.save()
    return buffer.getvalue()


def _frames(data: bytes) -> list[tuple[Image.Image, ImageReader]]:
    try:
        image = Image.open(BytesIO(data))
        if image.format not in SCAN_FORMATS:
            raise UnreadableImage(NOT_A_SCAN, detail=str(image.format))
        if image.format in {"JPEG", "MPO"}:
            # Handing reportlab the JPEG bytes embeds them unchanged instead of re-encoding them.
            image.load()
            return [(image, ImageReader(BytesIO(data)))]
        frames = []
        for frame in ImageSequence.Iterator(image):
            page = _flatten(frame.copy())
            frames.append((page, ImageReader(page)))
        return frames
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, EOFError) as error:
        if isinstance(error, UnreadableImage):
            raise
        raise UnreadableImage(NOT_A_SCAN, detail=str(error)) from error


def _flatten(frame: Image.Image) -> Image.Image:
    if frame.mode in {"RGB", "L", "CMYK"}:
        return frame
    if _has_alpha(frame):
        rgba = frame.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    if frame.mode == "1":
        return frame.convert("L")
    return frame.convert("RGB")


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info)


def _scan_dpi(image: Image.Image) -> tuple[float, float]:
    declared = image.info.get("dpi") or (0, 0)
    try:
        dpi_x, dpi_y = (round(float(value)) for value in declared)
    except (TypeError, ValueError):
        dpi_x = dpi_y = 0
    return max(dpi_x, MIN_SCAN_DPI), max(dpi_y, MIN_SCAN_DPI)
