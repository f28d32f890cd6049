"""Build the chat messages for the LLM from the question and the retrieved passages.

The wording lives in ``prompt.md`` next to this module (read with ``importlib.resources``,
so it works from an installed wheel as well as from the source tree). Retrieved text is
untrusted data: each passage goes into its own numbered block between
``<<<DOCUMENT [n] ...>>>`` and ``<<<END DOCUMENT [n]>>>``, and :func:`neutralise` is applied
first to the passage text, its source and heading and to the question, so none of them can
contain a delimiter and close a block early or forge another one. The question comes after
all the blocks.

Edit this when the block layout or the passage metadata shown to the model changes; edit
``prompt.md`` to change the wording.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template

from .answer import Passage

__all__ = [
    "PromptTemplates",
    "build_messages",
    "load_prompt",
    "neutralise",
    "parse_prompt",
    "render_block",
]

_PACKAGE = __name__.rpartition(".")[0]
_PROMPT_FILE = "prompt.md"
_SECTIONS = ("system", "block", "user", "not_found")
_SECTION_LINE = re.compile(r"^=== (\w+) ===[ \t]*$", re.MULTILINE)

# full-width and small-form angle brackets read like "<" and ">"
_ANGLE_LOOKALIKES = str.maketrans({"\uff1c": "<", "\ufe64": "<", "\uff1e": ">", "\ufe65": ">"})
# three or more brackets in a row, spaces or tabs between them allowed: "<<<", "< < <"
_OPEN_RUN = re.compile(r"<(?:[ \t]*<){2,}")
_CLOSE_RUN = re.compile(r">(?:[ \t]*>){2,}")
_KEEP_CONTROLS = frozenset("\n\t")


@dataclass(frozen=True, slots=True)
class PromptTemplates:
    """The parsed sections of ``prompt.md``; ``system`` already holds ``not_found``."""

    system: str
    block: Template
    user: Template
    not_found: str


def parse_prompt(text: str) -> PromptTemplates:
    """Split a prompt file into its ``=== name ===`` sections (the preamble is dropped)."""
    markers = list(_SECTION_LINE.finditer(text))
    sections: dict[str, str] = {}
    for i, marker in enumerate(markers):
        end = markers[i + 1].start() if i + 1 < len(markers) else len(text)
        sections[marker.group(1)] = text[marker.end() : end].strip("\n")
    missing = [name for name in _SECTIONS if name not in sections]
    if missing:
        raise ValueError(f"prompt file lacks section(s): {', '.join(missing)}")
    block = sections["block"]
    if not block.startswith("<<<") or not block.endswith(">>>") or "$text" not in block:
        raise ValueError("the block section must hold $text between <<< and >>> lines")
    not_found = sections["not_found"].strip()
    return PromptTemplates(
        system=Template(sections["system"]).substitute(not_found=not_found),
        block=Template(block),
        user=Template(sections["user"]),
        not_found=not_found,
    )


@cache
def load_prompt() -> PromptTemplates:
    """The packaged ``prompt.md``, parsed once per process."""
    text = resources.files(_PACKAGE).joinpath(_PROMPT_FILE).read_text(encoding="utf-8")
    return parse_prompt(text)


def neutralise(text: str) -> str:
    """``text`` made unable to open or close a block.

    Line breaks become ``\\n``; invisible format characters (zero-width spaces, bidi
    controls) and control characters other than newline and tab are removed, so they cannot
    hide a delimiter; full-width angle brackets become ASCII; then every run of three or
    more ``<`` (or ``>``) has each bracket replaced by ``\u2039`` (or ``\u203a``). Shorter
    runs, such as ``a << b`` or ``x > 3``, are left as they are.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(
        char
        for char in text
        if char in _KEEP_CONTROLS or unicodedata.category(char) not in ("Cf", "Cc")
    )
    text = text.translate(_ANGLE_LOOKALIKES)
    text = _OPEN_RUN.sub(lambda m: m.group().replace("<", "\u2039"), text)
    return _CLOSE_RUN.sub(lambda m: m.group().replace(">", "\u203a"), text)


def _one_line(text: str) -> str:
    return " ".join(neutralise(text).split())


def render_block(passage: Passage, templates: PromptTemplates | None = None) -> str:
    """One passage as a delimited block: its number, source, page, section, then its text."""
    templates = templates or load_prompt()
    meta = [f"| source: {_one_line(passage.source)}"]
    if passage.page is not None:
        meta.append(f"| page: {passage.page}")
    if passage.heading.strip():
        meta.append(f"| section: {_one_line(passage.heading)}")
    return templates.block.substitute(
        n=passage.n, meta=" ".join(meta), text=neutralise(passage.text).strip("\n")
    )


def build_messages(question: str, passages: Sequence[Passage]) -> list[dict[str, str]]:
    """The system and user messages asking ``question`` over ``passages``.

    Blocks appear in the order given and carry each passage's own ``n``.
    """
    templates = load_prompt()
    blocks = "\n\n".join(render_block(passage, templates) for passage in passages)
    user = templates.user.substitute(
        count=len(passages),
        blocks=blocks or "(no documents were retrieved)",
        question=_one_line(question),
        not_found=templates.not_found,
    )
    return [{"role": "system", "content": templates.system}, {"role": "user", "content": user}]
