"""Deterministic synthetic sample images, so the whole pipeline runs with no download.

Four shapes (circle, square, star, triangle) drawn the way a photo would show an object:
anywhere in the frame, at any size and angle, in any colour, lighter or darker than a plain,
graded or cluttered background, sometimes partly hidden behind something, with sensor noise.
The label is in the shape alone, so a network has to learn shapes, not colours or positions;
the variation keeps it from being free (a compact CNN lands around 0.9-0.97, not 1.0).

Every image has its own random stream, seeded by ``sample.seed``, its class and its number,
so the same settings always write byte-identical PNGs, and a larger ``images_per_class`` adds
images without changing the first ones. Only ``sample.path`` and ``sample.new_batch_path`` are
ever written. Point ``data.path`` at your own images and this module only serves its tests.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .config import Settings

logger = logging.getLogger(__name__)

CLASSES = ("circle", "square", "star", "triangle")
"""Sorted, as ``data`` discovers class folders."""

SUPERSAMPLE = 4
"""Shapes are drawn this many times larger, then averaged down: smooth (anti-aliased) edges,
as a camera sees them, instead of the jagged ones ImageDraw makes."""

# How hard the sample is. Measured when the template was made, on 2 CPU cores: the
# pipeline's compact CNN (20 epochs, augmentation, 32 px input) scored 0.92-0.95 on the
# default sample's test split in three runs of about 40 s (chance: 0.25). Each knob moved
# towards harder costs accuracy fast: in trials, the bars in front took 8 points off, and
# colours chosen without a difference in brightness left the network at chance.
RADIUS = (0.24, 0.4)
"""The shape's outer radius, as a share of the image side (smaller: harder)."""
IN_FRAME = 0.9
"""Least distance from the shape's centre to the image's edge, as a share of its radius
(below 1, a corner may leave the frame, as in a photo)."""
LIGHTER = 0.8
"""Share of shapes lighter than their background; the rest are darker."""
MIN_CONTRAST = 100.0
"""Least difference in brightness (0-255) between the shape and the background's mean
(smaller: harder)."""
OCCLUDED = 0.3
"""Share of shapes with a bar in front of them."""
CLUTTER = (1, 6)
"""Lines and dots in the background: at least, and fewer than, this many."""
FAINT = 0.5
"""How far the clutter's colour lies from the background's towards a random one (0-1)."""
NOISE = (2.0, 12.0)
"""Standard deviation of the Gaussian pixel noise (0-255 scale): least and most."""

Colour = tuple[int, int, int]
Point = tuple[float, float]


def _colour(rng: np.random.Generator, low: float = 0.0, high: float = 1.0) -> Colour:
    """A random colour, each channel between ``low`` and ``high`` (shares of 255)."""
    red, green, blue = rng.integers(round(low * 255), round(high * 255), size=3, endpoint=True)
    return int(red), int(green), int(blue)


def _luminance(colour: np.ndarray) -> float:
    """Perceived brightness (ITU-R BT.601 weights), 0-255."""
    return float(colour @ np.array([0.299, 0.587, 0.114]))


def _contrasting(
    rng: np.random.Generator, behind: np.ndarray, minimum: float, lighter: bool
) -> Colour:
    """A random colour at least ``minimum`` brighter (or darker) than ``behind``: colours
    alone, at equal brightness, make edges a small network barely sees."""
    sign = 1.0 if lighter else -1.0
    brightness = _luminance(behind)
    for _ in range(1000):
        colour = _colour(rng, 0.45, 1.0) if lighter else _colour(rng, 0.0, 0.55)
        if sign * (_luminance(np.array(colour)) - brightness) >= minimum:
            return colour
    return (255, 255, 255) if lighter else (0, 0, 0)  # the most there is


def _background(rng: np.random.Generator, size: int, dark: bool) -> np.ndarray:
    """A plain colour (a third of the time) or a linear gradient at a random angle, in the
    darker (or the lighter) half of the colours."""
    low, high = (0.0, 0.5) if dark else (0.5, 1.0)
    first = np.array(_colour(rng, low, high), dtype=np.float32)
    if rng.random() < 1 / 3:
        return np.broadcast_to(first, (size, size, 3)).copy()
    second = np.array(_colour(rng, low, high), dtype=np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    grid = np.linspace(-0.5, 0.5, size, dtype=np.float32)
    along = math.cos(angle) * grid[None, :] + math.sin(angle) * grid[:, None]
    weight = (along - along.min()) / (along.max() - along.min())
    gradient: np.ndarray = first + weight[..., None] * (second - first)
    return gradient


def _clutter(
    draw: ImageDraw.ImageDraw, rng: np.random.Generator, side: int, behind: np.ndarray
) -> None:
    """Thin lines and small dots, fainter than the shape (their colour lies part of the way
    from the background's ``behind`` towards a random one): edges to learn to ignore."""
    for _ in range(int(rng.integers(*CLUTTER))):
        mixed = behind + FAINT * (np.array(_colour(rng)) - behind)
        red, green, blue = (int(value) for value in np.rint(mixed))
        colour = (red, green, blue)
        if rng.random() < 0.6:
            x0, y0, x1, y1 = rng.uniform(0, side, size=4)
            width = int(rng.integers(1, 3)) * SUPERSAMPLE
            draw.line([(x0, y0), (x1, y1)], fill=colour, width=width)
        else:
            x, y = rng.uniform(0, side, size=2)
            radius = rng.uniform(0.5, 2.0) * SUPERSAMPLE
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colour)


def _corners(shape: str, rng: np.random.Generator, radius: float) -> list[Point]:
    """The shape's corners around (0, 0), before rotation; each a little irregular."""
    if shape == "square":
        half_width = radius * 0.75
        half_height = half_width * rng.uniform(0.85, 1.15)
        return [
            (-half_width, -half_height),
            (half_width, -half_height),
            (half_width, half_height),
            (-half_width, half_height),
        ]
    if shape == "triangle":
        angles = [math.pi / 2 + k * 2 * math.pi / 3 + rng.uniform(-0.15, 0.15) for k in range(3)]
        return [(radius * math.cos(a), radius * math.sin(a)) for a in angles]
    if shape == "star":
        inner = radius * rng.uniform(0.38, 0.55)
        corners = []
        for k in range(10):
            angle = math.pi / 2 + k * math.pi / 5
            length = radius if k % 2 == 0 else inner
            corners.append((length * math.cos(angle), length * math.sin(angle)))
        return corners
    # circle: a polygon fine enough to look round, slightly elliptical
    squash = rng.uniform(0.85, 1.0)
    return [
        (radius * math.cos(a), radius * squash * math.sin(a))
        for a in np.linspace(0, 2 * math.pi, 48, endpoint=False)
    ]


def _place(points: list[Point], centre: Point, angle: float) -> list[Point]:
    cos, sin = math.cos(angle), math.sin(angle)
    return [(centre[0] + x * cos - y * sin, centre[1] + x * sin + y * cos) for x, y in points]


def _occlude(
    draw: ImageDraw.ImageDraw,
    rng: np.random.Generator,
    centre: Point,
    radius: float,
    colour: Colour,
) -> None:
    """Something in front of the shape: a bar (a pole, a branch) across one side of it,
    hiding a strip of it (a tenth typically, a third at most: measured), never so much that
    the label becomes a guess. A bar, not a block, so the thing in front never looks like
    one of the classes."""
    angle = rng.uniform(0, math.pi)
    offset = radius * rng.uniform(0.5, 0.9) * (1 if rng.random() < 0.5 else -1)
    # The bar's middle, moved off the shape's centre at right angles to the bar.
    middle = (centre[0] - offset * math.sin(angle), centre[1] + offset * math.cos(angle))
    half_length, half_width = radius * 1.2, radius * rng.uniform(0.12, 0.22)
    bar = [
        (-half_length, -half_width),
        (half_length, -half_width),
        (half_length, half_width),
        (-half_length, half_width),
    ]
    draw.polygon(_place(bar, middle, angle), fill=colour)


def draw_shape(shape: str, rng: np.random.Generator, size: int) -> Image.Image:
    """One ``size`` x ``size`` RGB image of ``shape``, every property drawn from ``rng``."""
    side = size * SUPERSAMPLE
    lighter = rng.random() < LIGHTER  # than the background
    background = _background(rng, size, dark=lighter)
    # The background is smooth: drawn small and blown up, it costs a sixteenth.
    canvas = Image.fromarray(background.astype(np.uint8), "RGB").resize(
        (side, side), Image.Resampling.NEAREST
    )
    behind = background.reshape(-1, 3).mean(axis=0)
    draw = ImageDraw.Draw(canvas)
    _clutter(draw, rng, side, behind)

    radius = side * rng.uniform(*RADIUS)
    margin = radius * IN_FRAME
    centre = (rng.uniform(margin, side - margin), rng.uniform(margin, side - margin))
    corners = _place(_corners(shape, rng, radius), centre, rng.uniform(0, 2 * math.pi))
    colour = _contrasting(rng, behind, MIN_CONTRAST, lighter)
    draw.polygon(corners, fill=colour)
    if rng.random() < OCCLUDED:
        # Unlike the shape in brightness, so the two never merge into one other outline.
        bar = _contrasting(rng, np.array(colour), MIN_CONTRAST / 2, lighter=not lighter)
        _occlude(draw, rng, centre, radius, bar)

    small = canvas.reduce(SUPERSAMPLE)  # each pixel the mean of its block: anti-aliased
    pixels = np.asarray(small, dtype=np.float32)
    noisy = pixels + rng.normal(0.0, rng.uniform(*NOISE), size=pixels.shape)
    return Image.fromarray(np.clip(np.rint(noisy), 0, 255).astype(np.uint8), "RGB")


def _save(images: Iterator[tuple[Path, Image.Image]]) -> int:
    """Write the images as PNG; remove PNGs left in the same folders by an earlier, larger
    sample, so the folder holds exactly what the settings describe. Returns the count."""
    written: set[Path] = set()
    for path, image in images:
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, format="PNG")
        written.add(path)
    for folder in {path.parent for path in written}:
        for stale in folder.glob("*.png"):
            if stale not in written:
                stale.unlink()
    return len(written)


def write_sample(settings: Settings) -> Path:
    """Write ``sample.images_per_class`` images of each class to
    ``sample.path/<class>/<class>_NNNN.png`` (an ImageFolder); return ``sample.path``."""
    sample = settings.sample
    root = sample.path

    def images() -> Iterator[tuple[Path, Image.Image]]:
        for label, shape in enumerate(CLASSES):
            for number in range(sample.images_per_class):
                rng = np.random.default_rng([sample.seed, label, number])
                path = root / shape / f"{shape}_{number:04d}.png"
                yield path, draw_shape(shape, rng, sample.image_size)

    count = _save(images())
    logger.info("wrote %s: %d images of %d classes", root, count, len(CLASSES))
    return root


def write_new_batch(settings: Settings) -> Path:
    """Write ``sample.new_batch_images`` unlabelled images from the same process (new draws,
    classes mixed at random) to ``sample.new_batch_path``: the batch ``make drift`` checks,
    which shows no drift until you change something. Returns the folder."""
    sample = settings.sample
    root = sample.new_batch_path
    # A stream of its own (len(CLASSES) is no class's label): never a copy of a training image.
    stream = len(CLASSES)

    def images() -> Iterator[tuple[Path, Image.Image]]:
        for number in range(sample.new_batch_images):
            rng = np.random.default_rng([sample.seed, stream, number])
            shape = CLASSES[int(rng.integers(len(CLASSES)))]
            yield root / f"image_{number:04d}.png", draw_shape(shape, rng, sample.image_size)

    count = _save(images())
    logger.info("wrote %s: %d unlabelled images", root, count)
    return root
