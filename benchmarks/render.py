"""Render time: `copier copy` of each variant against copier-uv, in the same run.

Rounds interleave, each as its own subprocess so all see the same machine load:

- `copier --version`: Python and Copier start-up, the part no template can change;
- `copier copy --defaults` of each variant of this template;
- `copier copy` of copier-uv 1.13.0 (kept unmodified in the shared anchors folder), a
  well-regarded 57-file Copier template: the yardstick (target: ratio <= 1);
- two *floor* templates: the files the tabular defaults generate, and the files copier-uv
  generates, each flat and verbatim with no questions. A floor's time is what Copier costs
  for that many files here, whatever a template does, so `template_share_s` (a template's
  time minus its floor's) is what its questions, Jinja and layout add, and the two shares
  compare the templates' own work apart from how many files each generates.

The first round is discarded (cold file cache, bytecode). Every template is snapshotted into
a tagged git repo first and copied from the tag, the way a user gets it.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks.results import seconds, target, write_result
from harness.containers import shared_dir
from harness.rendering import (
    SNAPSHOT_TAG,
    commit_and_tag,
    copier_executable,
    render,
    snapshot_template,
)
from harness.variants import VARIANTS

ANCHOR_ANSWERS = {
    "project_name": "Speed Probe",
    "project_description": "x",
    "author_fullname": "A B",
    "author_username": "ab",
    "author_email": "a@b.org",
}


def anchor_template(dest: Path) -> Path | None:
    """copier-uv 1.13.0 from the shared anchors, as a tagged git repo (None when absent)."""
    source = shared_dir() / "anchors" / "copier-uv"
    if not (source / "copier.yml").is_file():
        return None
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".git"))
    for path in [dest, *dest.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)  # the anchor is read-only; git needs to write
    return commit_and_tag(dest, SNAPSHOT_TAG, "copier-uv 1.13.0, unmodified")


def floor_template(rendered: Path, dest: Path) -> int:
    """The files `rendered` holds, flat and verbatim (no Jinja in names or contents, no
    questions), under a subdirectory like the real template's, in a small repo."""
    files = sorted(path for path in rendered.rglob("*") if path.is_file())
    (dest / "project").mkdir(parents=True)
    (dest / "copier.yml").write_text("_subdirectory: project\n", encoding="utf-8")
    for number, path in enumerate(files):
        shutil.copy2(path, dest / "project" / f"file{number:03d}")
    commit_and_tag(dest, SNAPSHOT_TAG, "floor")
    return len(files)


def _copy(template: Path, destination: Path, answers: dict[str, Any], trust: bool) -> list[str]:
    command = [copier_executable(), "copy", "--defaults", "--quiet", "--vcs-ref", SNAPSHOT_TAG]
    if trust:
        command.append("--trust")  # copier-uv loads Jinja extensions; ours never needs it
    for key, value in answers.items():
        command += ["--data", f"{key}={value}"]
    return [*command, str(template), str(destination)]


def bench_render(workdir: Path, repeats: int) -> None:
    template = snapshot_template(workdir / "template")
    commands: dict[str, list[str]] = {"copier --version": [copier_executable(), "--version"]}
    for name in VARIANTS:
        commands[f"copy {name}"] = _copy(template, workdir / "out", {"variant": name}, False)
    sample = render(template, workdir / "sample", VARIANTS["tabular"].answers())
    floor_files = {"tabular": floor_template(sample, workdir / "floor")}
    commands["copy floor"] = _copy(workdir / "floor", workdir / "out", {}, False)
    anchor = anchor_template(workdir / "copier-uv")
    if anchor is not None:
        commands["copy copier-uv"] = _copy(anchor, workdir / "out", ANCHOR_ANSWERS, True)
        subprocess.run(_copy(anchor, workdir / "uv-sample", ANCHOR_ANSWERS, True), check=True)
        floor_files["copier-uv"] = floor_template(workdir / "uv-sample", workdir / "uv-floor")
        commands["copy floor copier-uv"] = _copy(workdir / "uv-floor", workdir / "out", {}, False)

    timings: dict[str, list[float]] = {name: [] for name in commands}
    for index in range(repeats + 1):
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            elapsed = time.perf_counter() - started
            shutil.rmtree(workdir / "out", ignore_errors=True)
            if index:  # the first round warms the OS file cache and Python's bytecode
                timings[name].append(elapsed)
    medians = {name: seconds(samples)["median"] for name, samples in timings.items()}
    startup = medians["copier --version"]
    targets = []
    if anchor is not None:
        for name in VARIANTS:
            ratio = medians[f"copy {name}"] / medians["copy copier-uv"]
            targets.append(target(f"copier copy {name} / copier copy copier-uv", ratio, 1.0, "x"))
    files = [path for path in (template / "templates" / "tabular").rglob("*") if path.is_file()]
    write_result(
        "render",
        targets,
        {
            "copier_s": {name: seconds(samples) for name, samples in timings.items()},
            "work_s": {name: round(m - startup, 4) for name, m in medians.items()},
            "floor_files": floor_files,
            "template_share_s": {
                "tabular": round(medians["copy tabular"] - medians["copy floor"], 4),
                **(
                    {
                        "copier-uv": round(
                            medians["copy copier-uv"] - medians["copy floor copier-uv"], 4
                        )
                    }
                    if anchor is not None
                    else {}
                ),
            },
            "tabular_tree_files": len(files),
            "tabular_tree_jinja_files": sum(1 for path in files if path.suffix == ".jinja"),
            "copier_uv": "absent" if anchor is None else "copier-uv 1.13.0 (shared anchors)",
        },
    )
    line = ", ".join(f"{name} {median:.2f} s" for name, median in medians.items())
    print(f"render (medians of {repeats} rounds): {line}")
