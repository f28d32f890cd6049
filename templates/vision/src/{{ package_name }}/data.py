"""Ingest: find the images and their classes, refuse bad files by name, split three ways.

``data.path`` is one of three layouts, told apart by what is there::

    images/cat/001.jpg ...               class folders: a stratified, seeded split
    images/train/cat/001.jpg ...         train/val/test (or validation) folders of class
                                         folders: the split is yours (a missing val or test
                                         folder is carved out of train)
    labels.csv                           columns path,label; paths relative to the CSV

Real image folders hold surprises: a download cut short, a text file saved as .png, CMYK
JPEGs from a print workflow, 16-bit scans, palette GIFs with a transparent colour, a 20,000
pixel panorama. Every file is decoded once, here; one that cannot be used is skipped, named in
the log and in ``Splits.skipped`` with the reason, and never stops the run. Everything usable
becomes plain 8-bit RGB, the same way here and in the service (``open_image``).

The split is a pure function of the file list and ``train.seed``, so training and evaluation
(separate processes) agree on the test images without saving the lists.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .config import Settings

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp"})
SPLIT_FOLDERS = {"train": "train", "val": "val", "validation": "val", "test": "test"}
SPLITS = ("train", "val", "test")
TRANSPARENT_BACKGROUND = (255, 255, 255)
"""What shows through transparent pixels: white, as a viewer or a web page shows them."""

Found = list[tuple[Path, str]]
"""Image files and the class each belongs to."""


class DataError(ValueError):
    """A dataset that cannot be trained on as a whole; the message names the path and the
    fix. (A single bad image is an ``ImageError``, and is skipped, not fatal.)"""


class ImageError(ValueError):
    """A file that is not a usable image; the message names the file and what is wrong."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class Item:
    path: Path
    label: int
    """Index into ``Splits.classes``."""


@dataclass(frozen=True)
class Splits:
    classes: list[str]
    train: list[Item]
    val: list[Item]
    test: list[Item]
    skipped: list[tuple[Path, str]]
    """Files refused, with the reason."""
    sizes: dict[Path, tuple[int, int]] = field(default_factory=dict)
    """Width and height of every usable image, as decoded (for ``describe``)."""


def open_image(path: Path | IO[bytes], max_pixels: int | None = None) -> Image.Image:
    """The image at ``path`` (a file or an open binary stream), fully decoded, as 8-bit RGB.

    Greyscale, CMYK, 16-bit, palette and transparent images are converted (transparency
    over white); a camera's EXIF rotation is applied. Raises ``ImageError`` for a file that
    is corrupt, truncated or not an image, or has more than ``max_pixels`` pixels: the size is
    read from the header and checked before decoding, so a small file that would decode to
    gigabytes (a decompression bomb) costs nothing.
    """
    source = str(path) if isinstance(path, Path) else getattr(path, "name", "upload")
    try:
        with Image.open(path) as image:
            width, height = image.size
            if max_pixels is not None and width * height > max_pixels:
                raise ImageError(
                    source, f"{width}x{height} is more than the {max_pixels:,} pixels allowed"
                )
            image.load()  # decode now: a truncated file fails here, not during training
            return _to_rgb(ImageOps.exif_transpose(image))
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError(source, "file not found") from None
    except UnidentifiedImageError:
        raise ImageError(source, "not an image (unknown format or damaged header)") from None
    except Image.DecompressionBombError as error:
        raise ImageError(source, f"too large to decode safely ({error})") from None
    except Exception as error:  # Pillow's decoders raise OSError, SyntaxError, ValueError...
        raise ImageError(source, f"damaged or truncated ({error})") from None


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode.startswith("I"):
        # 16-bit (and 32-bit integer) greyscale: Pillow's convert() clips every value above
        # 255 to white; scale the 0-65535 range down instead.
        levels = np.asarray(image, dtype=np.float64) / 257.0
        grey = np.clip(np.rint(levels), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        # convert("RGB") would keep whatever colour transparent pixels happen to hold.
        canvas = Image.new("RGBA", image.size, (*TRANSPARENT_BACKGROUND, 255))
        canvas.alpha_composite(image.convert("RGBA"))
        return canvas.convert("RGB")
    return image.convert("RGB")


def missing(path: Path, settings: Settings) -> str:
    """What to do about a data path that is not there."""
    if path == settings.sample.path:
        return f"{path} not found; `make data` writes the sample there"
    return (
        f"{path} not found (data.path in the config). Put your images there (one folder per "
        f"class), or set data.path to {settings.sample.path} for the bundled sample"
    )


def _hidden(path: Path, root: Path) -> bool:
    """Dot files and folders (.DS_Store, ._photo.jpg, .ipynb_checkpoints): tool litter."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _in_class_folders(root: Path, skipped: list[tuple[Path, str]]) -> Found:
    """Image files under ``root/<class>/`` (at any depth), sorted; the rest is reported."""
    found: Found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or _hidden(path, root):
            continue
        if path.parent == root:
            skipped.append((path, "not in a class folder"))
        elif path.suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append((path, f"not an image file ({path.suffix or 'no suffix'})"))
        else:
            found.append((path, path.relative_to(root).parts[0]))
    return found


def _in_csv(path: Path, skipped: list[tuple[Path, str]]) -> Found:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: not a readable UTF-8 CSV ({error})") from None
    if not rows or not {"path", "label"} <= set(rows[0]):
        raise DataError(f"{path}: expected a header row with columns path,label, then data rows")
    found: Found = []
    seen: set[Path] = set()
    for number, row in enumerate(rows, start=2):
        image = path.parent / (row["path"] or "").strip()
        label = (row["label"] or "").strip()
        if not label or image == path.parent:
            skipped.append((image, f"{path.name} line {number}: empty path or label"))
        elif image in seen:
            skipped.append((image, f"{path.name} line {number}: listed twice"))
        elif image.suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append((image, f"not an image file ({image.suffix or 'no suffix'})"))
        else:
            seen.add(image)
            found.append((image, label))
    return found


def discover(settings: Settings) -> tuple[dict[str, Found], list[tuple[Path, str]]]:
    """The candidate files of ``data.path`` by split (``"all"`` when it is not pre-split),
    and the files reported rather than used. Nothing is decoded yet."""
    root = settings.data.path
    skipped: list[tuple[Path, str]] = []
    if not root.exists():
        raise DataError(missing(root, settings))
    if root.is_file():
        if root.suffix.lower() != ".csv":
            raise DataError(f"{root}: data.path must be a folder of images or a .csv file")
        return {"all": _in_csv(root, skipped)}, skipped
    folders = [p for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    split_folders = {p.name.lower(): p for p in folders if p.name.lower() in SPLIT_FOLDERS}
    if not split_folders:
        return {"all": _in_class_folders(root, skipped)}, skipped
    others = [p.name for p in folders if p.name.lower() not in SPLIT_FOLDERS]
    problem = None
    if others:
        problem = f"holds split folders and other folders ({', '.join(others)}) side by side"
    elif "train" not in split_folders:
        problem = "has split folders but no train folder"
    elif {"val", "validation"} <= set(split_folders):
        problem = "has both a val and a validation folder"
    if problem:
        raise DataError(
            f"{root} {problem}; use either class folders, or train/ (with val/ and test/, "
            "optional) each holding the class folders"
        )
    for path in sorted(root.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            skipped.append((path, "not in a split folder"))
    return {
        SPLIT_FOLDERS[name]: _in_class_folders(folder, skipped)
        for name, folder in split_folders.items()
    }, skipped


def _check_classes(found: dict[str, Found], settings: Settings) -> list[str]:
    root = settings.data.path
    named = "train" if "train" in found else "all"
    classes = sorted({label for _, label in found[named]})
    if not classes:
        raise DataError(
            f"{root}: no images found; put them in one folder per class "
            f"({root}/<class>/<image>.jpg) or list them in a CSV with columns path,label"
        )
    if len(classes) == 1:
        raise DataError(f"{root}: one class only ({classes[0]}); classification needs at least two")
    wanted = settings.data.classes
    if wanted is not None and wanted != classes:
        raise DataError(
            f"{root} holds the classes {classes}, but data.classes lists {wanted} "
            f"(missing: {sorted(set(wanted) - set(classes))}, unexpected: "
            f"{sorted(set(classes) - set(wanted))}); make them agree, or unset data.classes"
        )
    for split, files in found.items():
        strays = sorted({label for _, label in files} - set(classes))
        if strays:
            raise DataError(f"{root}: {split} holds classes that train does not: {strays}")
    return classes


def _decodable(
    files: Found,
    max_pixels: int,
    skipped: list[tuple[Path, str]],
    sizes: dict[Path, tuple[int, int]],
) -> Found:
    usable: Found = []
    for path, label in files:
        try:
            with open_image(path, max_pixels) as image:
                sizes[path] = image.size
        except ImageError as error:
            logger.warning("skipped %s: %s", path, error.reason)
            skipped.append((path, error.reason))
            continue
        usable.append((path, label))
    return usable


def _hold_out(files: Found, share: float, seed: int, name: str) -> tuple[Found, Found]:
    """Per class, a seeded random ``share`` (at least one image) held out: (kept, held)."""
    kept: Found = []
    held: Found = []
    for label in sorted({label for _, label in files}):
        members = [item for item in files if item[1] == label]
        # A string seed is hashed the same way in every process, unlike hash().
        random.Random(f"{seed}:{name}:{label}").shuffle(members)  # noqa: S311 (a split, not a secret)
        count = max(1, round(len(members) * share))
        if count >= len(members):
            raise DataError(
                f"class {label!r} has {len(members)} usable image(s) to train on: too few to "
                f"hold {name} images out of them as well; add images of it"
            )
        held += members[:count]
        kept += members[count:]
    return kept, held


def load_splits(settings: Settings) -> Splits:
    """Find, check, decode and split ``data.path`` (see the module docstring)."""
    found, skipped = discover(settings)
    classes = _check_classes(found, settings)
    sizes: dict[Path, tuple[int, int]] = {}
    usable = {
        split: _decodable(files, settings.serving.max_image_pixels, skipped, sizes)
        for split, files in found.items()
    }
    data, seed = settings.data, settings.train.seed
    if "all" in usable:
        counts = Counter(label for _, label in usable["all"])
        for label in classes:
            if counts[label] < len(SPLITS):
                raise DataError(
                    f"{settings.data.path}: class {label!r} has {counts[label]} usable "
                    f"image(s); each class needs at least {len(SPLITS)}, one each for "
                    "training, validation and test"
                )
        rest, test = _hold_out(usable["all"], data.test_size, seed, "test")
        # val_size is a share of the whole: rescale it to what is left after the test split.
        train, val = _hold_out(rest, data.val_size / (1 - data.test_size), seed, "validation")
    else:
        train = usable["train"]
        if "test" in usable:
            test = usable["test"]
        else:
            train, test = _hold_out(train, data.test_size, seed, "test")
        if "val" in usable:
            val = usable["val"]
        else:
            train, val = _hold_out(train, data.val_size, seed, "validation")
    absent = sorted(set(classes) - {label for _, label in train})
    if absent:
        raise DataError(f"{settings.data.path}: no usable training images of {absent}")

    def items(files: Found) -> list[Item]:
        return [Item(path, classes.index(label)) for path, label in sorted(files)]

    splits = Splits(classes, items(train), items(val), items(test), sorted(skipped), sizes)
    logger.info(
        "%s: %d classes, train %d, validation %d, test %d images; %d file(s) skipped",
        settings.data.path,
        len(classes),
        len(splits.train),
        len(splits.val),
        len(splits.test),
        len(splits.skipped),
    )
    return splits


def _all_items(splits: Splits) -> list[tuple[str, Item]]:
    return [(name, item) for name in SPLITS for item in getattr(splits, name)]


def data_hash(splits: Splits) -> str:
    """sha256 over each image's split, path (relative to the dataset), class and bytes: the
    model's metadata records exactly which images it was trained and tested on."""
    entries = _all_items(splits)
    if not entries:
        return hashlib.sha256().hexdigest()
    root = Path(os.path.commonpath([item.path.parent for _, item in entries]))
    digest = hashlib.sha256()
    for name, item in entries:
        relative = item.path.relative_to(root).as_posix()
        digest.update(f"{name}\0{relative}\0{splits.classes[item.label]}\0".encode())
        digest.update(item.path.read_bytes())
    return digest.hexdigest()


def describe(splits: Splits) -> dict[str, Any]:
    """The facts ``reports/data.json`` holds about the data (the README quotes only these)."""
    per_split = {
        name: Counter(splits.classes[item.label] for item in getattr(splits, name))
        for name in SPLITS
    }
    sizes = Counter(f"{width}x{height}" for width, height in splits.sizes.values())
    by_area = sorted(splits.sizes.values(), key=lambda size: (size[0] * size[1], size))
    return {
        "classes": splits.classes,
        "images": sum(sum(counts.values()) for counts in per_split.values()),
        "per_class": {
            label: sum(counts[label] for counts in per_split.values()) for label in splits.classes
        },
        "splits": {
            name: {
                "images": sum(counts.values()),
                "per_class": {label: counts[label] for label in splits.classes},
            }
            for name, counts in per_split.items()
        },
        "image_sizes": {
            "distinct": len(sizes),
            "most_common": sizes.most_common(1)[0][0] if sizes else None,
            "smallest": "{}x{}".format(*by_area[0]) if by_area else None,
            "largest": "{}x{}".format(*by_area[-1]) if by_area else None,
        },
        "skipped": len(splits.skipped),
        "skipped_files": [{"path": str(path), "reason": why} for path, why in splits.skipped],
    }
