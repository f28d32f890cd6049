"""Keep the README's Results section in sync with the latest evaluation.

Only the text between ``<!-- results:start -->`` and ``<!-- results:end -->`` is replaced,
so everything the author wrote around it is left alone, and running ``evaluate`` twice on
the same model leaves the README byte-for-byte unchanged.
"""

from __future__ import annotations

from pathlib import Path

START = "<!-- results:start -->"
END = "<!-- results:end -->"


class MarkersMissingError(ValueError):
    """The README has no (or a broken) results block, so nothing was written."""


def replace_block(text: str, block: str) -> str:
    """``text`` with the content between the markers replaced by ``block``."""
    starts, ends = text.count(START), text.count(END)
    if starts != 1 or ends != 1 or text.index(START) > text.index(END):
        raise MarkersMissingError(
            f"expected one {START} followed by one {END}, found {starts} start and {ends} end "
            "marker(s); add them where the results table should go"
        )
    head, rest = text.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{block.strip()}\n{END}{tail}"


def update_readme(path: Path, block: str) -> bool:
    """Write ``block`` into the README at ``path``; return whether the file changed."""
    if not path.is_file():
        raise MarkersMissingError(f"{path} not found")
    text = path.read_text(encoding="utf-8")
    try:
        updated = replace_block(text, block)
    except MarkersMissingError as error:
        raise MarkersMissingError(f"{path}: {error}") from None
    if updated == text:
        return False
    path.write_text(updated, encoding="utf-8")
    return True
