"""Image files for the sample requests of an image service, made from a few numbers.

A PNG is written with the standard library (zlib), so the template's tests need no imaging
library of their own, and a decompression bomb (a small file whose header promises far more
pixels than a service should decode) is as easy to make as a plain image.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour types: 0 greyscale, 2 RGB (8 bits per channel here).
COLOUR_TYPES = {"L": 0, "RGB": 2}


def _chunk(kind: bytes, data: bytes) -> bytes:
    checksum = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)


def png(width: int, height: int, colour: Sequence[int] = (0, 0, 0), mode: str = "RGB") -> bytes:
    """A ``width`` x ``height`` PNG filled with ``colour`` (one value for "L", three for
    "RGB"), with a square of the opposite colour in its middle so it is not blank."""
    if mode not in COLOUR_TYPES:
        raise ValueError(f"mode {mode!r}: choose one of {sorted(COLOUR_TYPES)}")
    channels = 1 if mode == "L" else 3
    pixel = bytes(colour[:channels])
    if len(pixel) != channels:
        raise ValueError(f"colour {list(colour)} has fewer than {channels} values for {mode}")
    inverse = bytes(255 - value for value in pixel)
    left, right = width // 4, width - width // 4
    rows = []
    for y in range(height):
        inside = height // 4 <= y < height - height // 4
        middle = inverse * (right - left) if inside else pixel * (right - left)
        # Each row starts with its filter type (0: none).
        rows.append(b"\x00" + pixel * left + middle + pixel * (width - right))
    header = struct.pack(">IIBBBBB", width, height, 8, COLOUR_TYPES[mode], 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _chunk(b"IEND", b"")
    )


def bomb(width: int, height: int) -> bytes:
    """A greyscale PNG of ``width`` x ``height`` black pixels: a few kilobytes per million
    pixels on disk, ``width * height`` bytes once decoded."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, COLOUR_TYPES["L"], 0, 0, 0)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
