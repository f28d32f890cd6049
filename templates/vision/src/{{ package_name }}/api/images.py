"""Uploaded images: read within the byte cap, decoded within the pixel cap, never trusted.

An upload is whatever a client sends, so each guard refuses with a 4xx that names the file
and, for a limit, the setting that sets it:

- **bytes** (``serving.max_image_bytes``, 413): the size the form parser counted, then the
  bytes actually read, never more than the cap plus one;
- **pixels** (``serving.max_image_pixels``, 413): width x height from the file's header,
  checked before a single pixel is decoded. A 50 KB PNG can declare 20000 x 20000 pixels
  and decode to 1.2 GB (a decompression bomb); Pillow's own, process-wide guard
  (``Image.MAX_IMAGE_PIXELS``) is left as it is and its error is answered the same way;
- **format** (415): only the formats in ``FORMATS`` are opened (Pillow reads dozens, some
  through external programs, such as EPS through Ghostscript); a file in another format, or
  corrupt, or truncated, is refused.

What passes is decoded by ``data.open_image``, the function that reads the training images,
so an upload becomes RGB exactly as they did (greyscale, 16-bit, palette, transparency over
white, the camera's EXIF rotation).

Decoding runs in the service's worker process (``api.scoring``), so a decoder that crashes
on a crafted file takes down that process only, and the request gets a 503.

This is the part of the service that is this project's own: edit ``FORMATS`` to accept
another format (and check that ``data.py`` reads it for training too).
"""

from __future__ import annotations

import io
import unicodedata
from http import HTTPStatus

from fastapi import HTTPException, UploadFile
from PIL import Image, UnidentifiedImageError

from ..data import ImageError, open_image

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
"""Formats the service opens: those of the file suffixes ``data`` trains on."""

MAX_NAME_CHARS = 100
"""An answer quotes at most this much of a file's name (names come from the client)."""

BOMB = "more pixels than Pillow decodes at all (Image.MAX_IMAGE_PIXELS)"
"""How a refusal describes an image whose header already tripped Pillow's own guard."""


class RefusedImageError(HTTPException):
    """An upload the service does not classify; the detail names the file and the reason."""

    def __init__(self, status: HTTPStatus, detail: str) -> None:
        super().__init__(status_code=status, detail=detail)


def display_name(filename: str | None, position: int) -> str:
    """The name an answer quotes for the upload at ``position`` (0-based): the file's base
    name, printable characters only, shortened; ``file 3`` for an upload without one."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    printable = "".join(char for char in base if unicodedata.category(char)[0] != "C").strip()
    if len(printable) > MAX_NAME_CHARS:
        printable = printable[: MAX_NAME_CHARS - 3] + "..."
    return printable or f"file {position + 1}"


def _too_many_bytes(name: str, size: int | str, limit: int) -> RefusedImageError:
    return RefusedImageError(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        f"{name} is {size} bytes; the limit is {limit} bytes per image (serving.max_image_bytes)",
    )


async def read_upload(upload: UploadFile, position: int, max_bytes: int) -> tuple[str, bytes]:
    """The upload's display name and content; a 413 when it holds more than ``max_bytes``."""
    name = display_name(upload.filename, position)
    if upload.size is not None and upload.size > max_bytes:
        raise _too_many_bytes(name, upload.size, max_bytes)
    content = await upload.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise _too_many_bytes(name, f"more than {max_bytes}", max_bytes)
    return name, content


def _not_an_image(name: str, reason: str) -> RefusedImageError:
    return RefusedImageError(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        f"{name} is not an image the service reads ({reason}); send one of: {', '.join(FORMATS)}",
    )


def _too_many_pixels(name: str, pixels: str, limit: int) -> RefusedImageError:
    return RefusedImageError(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        f"{name} has {pixels}; the limit is {limit} pixels, width x height "
        "(serving.max_image_pixels)",
    )


def decode(content: bytes, name: str, max_pixels: int) -> Image.Image:
    """The upload as an RGB image, fully decoded and converted exactly as training images
    are (``data.open_image``); ``RefusedImageError`` (413 or 415) when it cannot or must
    not be.

    The header is read first, by the formats in ``FORMATS`` only, to tell a refusal for
    size (413) from one for content (415) before anything is decoded.
    """
    if not content:
        raise _not_an_image(name, "the file is empty")
    try:
        with Image.open(io.BytesIO(content), formats=FORMATS) as header:
            width, height = header.size
    except Image.DecompressionBombError:
        raise _too_many_pixels(name, BOMB, max_pixels) from None
    except UnidentifiedImageError:
        raise _not_an_image(name, "not a recognised image format") from None
    except (OSError, ValueError, SyntaxError) as error:  # a malformed header
        raise _not_an_image(name, str(error) or type(error).__name__) from None
    if width * height > max_pixels:
        raise _too_many_pixels(name, f"{width} x {height} pixels", max_pixels)
    try:
        return open_image(io.BytesIO(content), max_pixels=max_pixels)
    except ImageError as error:  # corrupt or truncated past its header
        raise _not_an_image(name, getattr(error, "reason", str(error))) from None
