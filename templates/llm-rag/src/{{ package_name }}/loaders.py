"""Turn source files into :class:`Document` records made of :class:`Section` blocks.

Supported inputs:

* Markdown (``.md``, ``.markdown``): ATX headings (``#`` to ``######``) form the heading
  path; fenced code blocks are kept verbatim and nothing inside them is read as a heading;
  table alignment rows (``|---|---|``) are dropped because they carry no text.
* Plain text (``.txt``): one section, no headings.
* PDF (``.pdf``, via pypdf): one section per page that has text, carrying its 1-based page
  number. A first or last line repeated on every page (running header/footer, page numbers
  ignored) is removed when the file has at least three pages.
* HTML (``.html``, ``.htm``, via :mod:`html.parser`): ``script``, ``style``, ``nav``,
  ``header``, ``footer`` (and a few other non-content elements) are dropped, ``h1``-``h6``
  form the heading path, block elements become paragraphs and every table row becomes one
  line whose cells are separated by a single space.

Text files must be UTF-8 (a byte-order mark is accepted). Anything else is reported with a
:class:`LoadError` rather than decoded by guesswork.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from pypdf import PdfReader

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Document",
    "LoadError",
    "Section",
    "load",
    "load_folder",
]

_MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
_TEXT_SUFFIXES = frozenset({".txt"})
_PDF_SUFFIXES = frozenset({".pdf"})
_HTML_SUFFIXES = frozenset({".html", ".htm"})
SUPPORTED_SUFFIXES: frozenset[str] = (
    _MARKDOWN_SUFFIXES | _TEXT_SUFFIXES | _PDF_SUFFIXES | _HTML_SUFFIXES
)


class LoadError(Exception):
    """A file could not be turned into a document; ``reason`` says why."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Section:
    """A run of body text that shares one heading path (and, for PDFs, one page)."""

    text: str
    page: int | None = None
    heading_path: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Document:
    """One loaded file.

    ``source`` is the path relative to the folder it was loaded from (POSIX separators),
    ``sha256`` is the digest of the raw bytes, so unchanged files can be skipped on re-ingest.
    """

    source: str
    title: str
    sha256: str
    sections: tuple[Section, ...] = field(default=())

    @property
    def text(self) -> str:
        """All section texts joined by blank lines."""
        return "\n\n".join(section.text for section in self.sections)

    @property
    def word_count(self) -> int:
        return sum(len(section.text.split()) for section in self.sections)


# --------------------------------------------------------------------------- public API


def load(path: Path, *, root: Path | None = None) -> Document:
    """Load one file.

    ``source`` is ``path`` relative to ``root`` when given, otherwise the file name.
    Raises :class:`LoadError` for unsupported, unreadable, empty, undecodable or
    text-less files.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = suffix or "(no suffix)"
        raise LoadError(path, f"unsupported file type {shown}")

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(path, f"cannot read file: {exc.strerror or exc}") from exc
    if not data:
        raise LoadError(path, "empty file")

    title: str | None
    if suffix in _PDF_SUFFIXES:
        title, sections = _parse_pdf(path, data)
    else:
        text = _decode(path, data)
        if suffix in _MARKDOWN_SUFFIXES:
            title, sections = _parse_markdown(text)
        elif suffix in _HTML_SUFFIXES:
            title, sections = _parse_html(text)
        else:
            title, sections = None, _plain_sections(text)

    if not sections:
        raise LoadError(path, "no text content")
    source = path.relative_to(root).as_posix() if root is not None else path.name
    return Document(
        source=source,
        title=title or path.stem,
        sha256=hashlib.sha256(data).hexdigest(),
        sections=tuple(sections),
    )


def load_folder(folder: Path) -> tuple[list[Document], list[tuple[Path, str]]]:
    """Load every non-hidden file below ``folder``, in sorted relative-path order.

    Returns the documents and a ``(path, reason)`` pair for each file that was skipped.
    A bad file never aborts the run; only a missing folder raises.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"not a directory: {folder}")

    documents: list[Document] = []
    skipped: list[tuple[Path, str]] = []
    for path in _visible_files(folder):
        if not path.is_file():
            skipped.append((path, "not a regular file"))
            continue
        try:
            documents.append(load(path, root=folder))
        except LoadError as exc:
            skipped.append((path, exc.reason))
    return documents, skipped


def _visible_files(folder: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        found.extend(Path(dirpath, name) for name in filenames if not name.startswith("."))
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


# --------------------------------------------------------------------------- decoding

# C0 control characters other than tab, newline, vertical tab, form feed and carriage return.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def _decode(path: Path, data: bytes) -> str:
    encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise LoadError(
            path,
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "convert the file to UTF-8",
        ) from exc
    if "\x00" in text or len(_CONTROL_CHARS.findall(text)) * 100 > len(text):
        raise LoadError(path, "looks like binary data, not text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise LoadError(path, "no text (only whitespace)")
    return text


def _tidy(lines: list[str]) -> str:
    """Strip trailing spaces, drop outer blank lines and squeeze runs of blank lines."""
    out: list[str] = []
    for line in lines:
        line = line.rstrip()
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def _plain_sections(text: str) -> list[Section]:
    body = _tidy(text.split("\n"))
    return [Section(text=body)] if body else []


# --------------------------------------------------------------------------- markdown

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_FENCE_CLOSE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*$")


def _is_table_rule(line: str) -> bool:
    stripped = line.strip()
    return "|" in stripped and "-" in stripped and not stripped.strip("|:- \t")


def _parse_markdown(text: str) -> tuple[str | None, list[Section]]:
    sections: list[Section] = []
    headings: list[tuple[int, str]] = []
    body: list[str] = []
    title: str | None = None
    fence: tuple[str, int] | None = None  # (fence character, fence length) while inside
    previous = ""

    def flush() -> None:
        block = _tidy(body)
        if block:
            sections.append(Section(text=block, heading_path=tuple(t for _, t in headings)))
        body.clear()

    for line in text.split("\n"):
        if fence is not None:
            body.append(line)
            close = _FENCE_CLOSE.match(line)
            if close and close.group(1)[0] == fence[0] and len(close.group(1)) >= fence[1]:
                fence = None
            continue
        opening = _FENCE_OPEN.match(line)
        if opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
            fence = (opening.group(1)[0], len(opening.group(1)))
            body.append(line)
            continue
        heading = _ATX_HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            heading_text = (heading.group(2) or "").strip()
            if heading_text:  # an empty heading ("#") adds no structure and no text
                flush()
                while headings and headings[-1][0] >= level:
                    headings.pop()
                headings.append((level, heading_text))
                if level == 1 and title is None:
                    title = heading_text
            previous = line
            continue
        if _is_table_rule(line) and "|" in previous:
            continue
        body.append(line)
        previous = line
    flush()
    return title, sections


# --------------------------------------------------------------------------- HTML

_SKIPPED_ELEMENTS = frozenset(
    {
        "script",
        "style",
        "nav",
        "header",
        "footer",
        "head",
        "noscript",
        "template",
        "svg",
        "iframe",
        "object",
    }
)
_HEADING_LEVELS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCK_ELEMENTS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "form",
        "hr",
        "html",
        "li",
        "main",
        "ol",
        "p",
        "section",
        "summary",
        "ul",
    }
)
_WHITESPACE = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


@dataclass
class _Table:
    rows: list[str] = field(default_factory=list)
    cells: list[str] | None = None  # cells of the open row
    cell: list[str] | None = None  # text of the open cell
    loose: list[str] = field(default_factory=list)  # caption or text outside cells

    def end_cell(self) -> None:
        if self.cell is not None:
            if self.cells is None:
                self.cells = []
            self.cells.append(_squash("".join(self.cell)))
            self.cell = None

    def end_row(self) -> None:
        self.end_cell()
        if self.cells is not None:
            row = " ".join(cell for cell in self.cells if cell)
            if row:
                self.rows.append(row)
            self.cells = None

    def render(self) -> str:
        self.end_row()
        caption = _squash("".join(self.loose))
        return "\n".join([caption, *self.rows] if caption else self.rows)


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[Section] = []
        self.h1: str | None = None
        self._title_parts: list[str] = []
        self._in_title = False
        self._skipping: list[str] = []
        self._headings: list[tuple[int, str]] = []
        self._heading_level: int | None = None
        self._heading_parts: list[str] = []
        self._paragraphs: list[str] = []
        self._lines: list[list[str]] = [[]]
        self._pre_depth = 0
        self._tables: list[_Table] = []

    @property
    def page_title(self) -> str:
        return _squash("".join(self._title_parts))

    # -- structure helpers
    def _end_paragraph(self) -> None:
        if self._pre_depth:
            text = _tidy("".join(part for line in self._lines for part in line).split("\n"))
        else:
            text = "\n".join(filter(None, (_squash("".join(line)) for line in self._lines)))
        if text:
            self._paragraphs.append(text)
        self._lines = [[]]

    def _end_section(self) -> None:
        self._end_paragraph()
        if self._paragraphs:
            path = tuple(text for _, text in self._headings)
            self.sections.append(Section(text="\n\n".join(self._paragraphs), heading_path=path))
        self._paragraphs = []

    def _space_in_cell(self) -> None:
        table = self._tables[-1]
        if table.cell is not None:
            table.cell.append(" ")

    # -- parser callbacks
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            # the document <title> lives in <head>; a <title> inside <svg> is not it
            self._in_title = all(name == "head" for name in self._skipping)
            return
        if self._skipping or tag in _SKIPPED_ELEMENTS:
            if tag in _SKIPPED_ELEMENTS:
                self._skipping.append(tag)
            return
        if tag in _HEADING_LEVELS and not self._tables:
            self._end_section()
            self._heading_level = _HEADING_LEVELS[tag]
            self._heading_parts = []
        elif tag == "table":
            if not self._tables:
                self._end_paragraph()
            self._tables.append(_Table())
        elif tag == "tr" and self._tables:
            self._tables[-1].end_row()
            self._tables[-1].cells = []
        elif tag in ("td", "th") and self._tables:
            table = self._tables[-1]
            table.end_cell()
            table.cell = []
        elif tag == "br":
            if self._tables:
                self._space_in_cell()
            else:
                self._lines.append([])
        elif tag == "pre" and not self._tables:
            self._end_paragraph()
            self._pre_depth += 1
        elif tag in _BLOCK_ELEMENTS:
            if self._tables:
                self._space_in_cell()
            else:
                self._end_paragraph()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
            return
        if self._skipping:
            if tag in self._skipping:
                while self._skipping.pop() != tag:
                    pass
            return
        if tag in _HEADING_LEVELS and self._heading_level is not None:
            self._end_heading()
        elif tag == "table" and self._tables:
            rendered = self._tables.pop().render()
            if self._tables:
                outer = self._tables[-1]
                if outer.cell is not None:
                    outer.cell.append(" " + rendered + " ")
                else:
                    outer.loose.append(" " + rendered + " ")
            elif rendered:
                self._paragraphs.append(rendered)
        elif tag == "tr" and self._tables:
            self._tables[-1].end_row()
        elif tag in ("td", "th") and self._tables:
            self._tables[-1].end_cell()
        elif tag == "pre" and self._pre_depth and not self._tables:
            self._end_paragraph()
            self._pre_depth -= 1
        elif tag in _BLOCK_ELEMENTS:
            if self._tables:
                self._space_in_cell()
            else:
                self._end_paragraph()

    def _end_heading(self) -> None:
        level = self._heading_level
        self._heading_level = None
        text = _squash("".join(self._heading_parts))
        if level is None or not text:
            return
        while self._headings and self._headings[-1][0] >= level:
            self._headings.pop()
        self._headings.append((level, text))
        if level == 1 and self.h1 is None:
            self.h1 = text

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title_parts.append(data)
        elif self._skipping:
            return
        elif self._heading_level is not None:
            self._heading_parts.append(data)
        elif self._tables:
            table = self._tables[-1]
            if table.cell is not None:
                table.cell.append(data)
            else:
                table.loose.append(data)
        else:
            self._lines[-1].append(data)

    def close(self) -> None:
        super().close()
        if self._heading_level is not None:
            self._end_heading()
        while self._tables:
            rendered = self._tables.pop().render()
            if rendered:
                self._paragraphs.append(rendered)
        self._end_section()


def _parse_html(text: str) -> tuple[str | None, list[Section]]:
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    return parser.h1 or parser.page_title or None, parser.sections


# --------------------------------------------------------------------------- PDF

_DIGITS = re.compile(r"\d+")


def _parse_pdf(path: Path, data: bytes) -> tuple[str | None, list[Section]]:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(path, "PDF is encrypted")
        raw_pages = [page.extract_text() or "" for page in reader.pages]
        metadata = reader.metadata
        title = metadata.title if metadata is not None else None
    except LoadError:
        raise
    except Exception as exc:  # pypdf raises many exception types on damaged files
        raise LoadError(path, f"cannot parse PDF: {exc}") from exc

    pages = _drop_running_lines([page.replace("\r\n", "\n").split("\n") for page in raw_pages])
    sections = [
        Section(text=text, page=number)
        for number, lines in enumerate(pages, start=1)
        if (text := _tidy(lines))
    ]
    if not sections:
        raise LoadError(path, "PDF has no extractable text (scanned or image-only?)")
    return (title.strip() if isinstance(title, str) else None) or None, sections


def _drop_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Blank out a first/last line that repeats on every page (digits ignored)."""
    if len(pages) < 3:
        return pages
    firsts: list[int] = []
    lasts: list[int] = []
    for page in pages:
        filled = [i for i, line in enumerate(page) if line.strip()]
        if len(filled) < 2:
            return pages
        firsts.append(filled[0])
        lasts.append(filled[-1])

    def key(line: str) -> str:
        return _DIGITS.sub("#", _squash(line))

    cleaned = [list(page) for page in pages]
    for positions in (firsts, lasts):
        if len({key(page[i]) for page, i in zip(pages, positions, strict=True)}) == 1:
            for page, i in zip(cleaned, positions, strict=True):
                page[i] = ""
    return cleaned
