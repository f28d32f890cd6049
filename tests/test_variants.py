"""The variant registry and the shared layer hold together.

- copier.yml's `variant` choices, the trees under `templates/`, `aipt variants` and the
  tests' registry (`harness.variants`) agree;
- every file in `templates/_shared/` is used by some variant tree (no orphans), and every
  include or extends names a file that exists;
- the template holds no symbolic links: git on Windows checks a link out as a text file
  holding its target, which Copier would then write into the project. Shared files are
  pulled in with `{% include %}`/`{% extends %}` instead; a render from a clone made with
  `core.symlinks=false` (Windows' default) gives the same project as any other.
"""

from __future__ import annotations

import filecmp
import re
from pathlib import Path

import pytest
import yaml

from ai_project_template import variants as aipt_variants
from harness.rendering import REPO_ROOT, iter_files, render
from harness.variants import VARIANTS
from tests.conftest import RenderProject

pytestmark = pytest.mark.render

TEMPLATES = REPO_ROOT / "templates"
SHARED = TEMPLATES / "_shared"
REFERENCE = re.compile(r"\{%-?\s*(?:include|extends|from|import)\s+'(templates/[^']+)'")


def _choices() -> dict[str, str]:
    """copier.yml's variant choices: value -> label."""
    config = yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))
    return {value: label for label, value in config["variant"]["choices"].items()}


def _trees() -> set[str]:
    return {path.name for path in TEMPLATES.iterdir() if path.is_dir() and path.name != "_shared"}


def test_every_tree_is_a_copier_choice_and_a_registry_entry() -> None:
    assert _trees() <= set(_choices()), "a tree under templates/ that copier.yml does not offer"
    assert set(VARIANTS) == _trees(), "harness/variants.py and templates/ disagree"


def test_aipt_lists_the_choices_and_knows_which_are_released() -> None:
    found = aipt_variants.variants(str(REPO_ROOT))
    assert [variant.value for variant in found] == list(_choices())
    assert {variant.value for variant in found if variant.available} == _trees()


def test_unreleased_variants_say_so_in_their_label() -> None:
    for value, label in _choices().items():
        released = value in _trees()
        assert ("later release" in label) != released, f"label of {value}: {label!r}"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_released_variants_render_with_their_defaults(
    variant: str, render_project: RenderProject
) -> None:
    project = render_project(**VARIANTS[variant].answers())
    assert project.answers["variant"] == variant


def _template_files() -> list[Path]:
    """Every file of the variant trees and the shared layer (not templates/README.md)."""
    return sorted(
        path
        for tree in TEMPLATES.iterdir()
        if tree.is_dir()
        for path in tree.rglob("*")
        if path.is_file() or path.is_symlink()
    )


def test_the_template_holds_no_symbolic_links() -> None:
    links = [str(path.relative_to(REPO_ROOT)) for path in _template_files() if path.is_symlink()]
    assert links == [], "use {% include %} or {% extends %}: a link breaks on Windows checkouts"


def _references() -> dict[str, set[str]]:
    """Each template file -> the repo paths it includes, extends or imports (only `.jinja`
    files are rendered; the others, a PDF among them, are copied as they are)."""
    references: dict[str, set[str]] = {}
    for path in _template_files():
        if path.suffix != ".jinja":
            continue
        text = path.read_text(encoding="utf-8")
        references[str(path.relative_to(REPO_ROOT))] = set(REFERENCE.findall(text))
    copier_yml = (REPO_ROOT / "copier.yml").read_text(encoding="utf-8")
    references["copier.yml"] = set(REFERENCE.findall(copier_yml))
    return references


def test_every_reference_names_an_existing_file() -> None:
    missing = [
        f"{source} -> {target}"
        for source, targets in _references().items()
        for target in targets
        if not (REPO_ROOT / target).is_file()
    ]
    assert missing == []


def test_every_shared_file_is_used() -> None:
    used = set().union(*_references().values())
    shared = {str(path.relative_to(REPO_ROOT)) for path in SHARED.rglob("*") if path.is_file()}
    assert sorted(shared - used) == [], "files in templates/_shared/ that no template uses"


def test_shared_python_is_plain_python() -> None:
    """Shared modules are included verbatim (rendered, with nothing to substitute): Jinja
    syntax in one would be evaluated, not copied."""
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for path in SHARED.rglob("*.py")
        if re.search(r"\{\{|\{%|\{#", path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "rename to .jinja if substitution is meant, or avoid the syntax"


def test_a_windows_style_checkout_renders_the_same_project(
    template_repo: Path,
    tmp_path: Path,
    render_project: RenderProject,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Copier clones the template with the user's git settings; on Windows those default to
    core.symlinks=false, which would turn any link into a file holding its target's path."""
    answers = VARIANTS["tabular"].answers(project_name="Windows Checkout")
    reference = render_project(**answers)
    windows_git = tmp_path / "gitconfig"
    windows_git.write_text("[core]\n\tsymlinks = false\n", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(windows_git))
    rendered = render(template_repo, tmp_path / "project", answers)
    names = [path.as_posix() for path in iter_files(reference.path)]
    assert [path.as_posix() for path in iter_files(rendered)] == names
    _, mismatch, errors = filecmp.cmpfiles(reference.path, rendered, names, shallow=False)
    assert mismatch == []
    assert errors == []
