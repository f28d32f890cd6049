"""Build layer, what only the vision variant does: a generated ImageFolder sample, a network
exported to ONNX with its parity to PyTorch measured, a service that recognises the sample's
own images, and drift found in a batch of darker images.

Shares its project and server with `test_build.py` through the session's build cache.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import pytest

from harness.building import BuiltProject
from harness.probes import Upload, multipart
from harness.service import RunningServer, request
from harness.variants import VISION
from tests.conftest import BuildProject
from tests.test_build import metadata_of

pytestmark = pytest.mark.build


@pytest.fixture(scope="module", params=[build.name for build in VISION.builds])
def project(request: pytest.FixtureRequest, build_project: BuildProject) -> BuiltProject:
    return build_project(request.param)


def sample_folder(project: BuiltProject) -> Path:
    return project.path / str(project.config()["sample"]["path"])


def test_the_sample_is_an_image_folder_of_four_classes_or_more(project: BuiltProject) -> None:
    project.require("setup", "all")
    counts = Counter(path.parent.name for path in sample_folder(project).glob("*/*.png"))
    assert len(counts) >= 4, counts
    assert sum(counts.values()) >= 1000, counts
    assert max(counts.values()) - min(counts.values()) <= max(counts.values()) // 10, counts


def test_the_exported_network_matches_pytorch_and_beats_the_baseline(
    project: BuiltProject,
) -> None:
    project.require("setup", "all")
    metadata = metadata_of(project)
    parity = metadata["parity"]
    assert parity["images"] > 0
    assert parity["max_abs_diff"] <= parity["tolerance"] <= 1e-3, parity
    folders = sorted(path.name for path in sample_folder(project).iterdir() if path.is_dir())
    assert metadata["classes"] == folders
    # The sample is four balanced classes: the majority-class baseline scores 0.25.
    assert metadata["test_metrics"]["accuracy"] >= 0.8, metadata["test_metrics"]


def test_the_service_recognises_the_samples_own_images(
    server: RunningServer, project: BuiltProject
) -> None:
    """Real images of each class, uploaded as files: the served model names most of them."""
    folders = sorted(path for path in sample_folder(project).iterdir() if path.is_dir())
    per_class = int(project.config()["serving"]["max_batch_files"]) // len(folders)
    uploads, labels = [], []
    for folder in folders:
        for path in sorted(folder.glob("*.png"))[:per_class]:
            uploads.append(Upload("files", path.name, "image/png", path=str(path)))
            labels.append(folder.name)
    body, content_type = multipart(tuple(uploads))
    answer = request(server.url("/predict/batch"), body=body, content_type=content_type)
    assert answer.status == 200, answer.text
    predictions = answer.json()["predictions"]
    assert [p["filename"] for p in predictions] == [upload.filename for upload in uploads]
    right = sum(p["label"] == label for p, label in zip(predictions, labels, strict=True))
    assert right >= 0.8 * len(labels), f"{right} of {len(labels)} right: {predictions}"


def test_drift_is_found_in_a_batch_of_darker_images(project: BuiltProject, tmp_path: Path) -> None:
    """The shipped batch passes (test_build); the same images at a third of their brightness
    are reported as drift, by brightness, and `make drift` fails."""
    project.require("setup", "all")
    batch = project.path / project.config()["sample"]["new_batch_path"]
    darker = tmp_path / "darker"
    darken = (
        "import sys, pathlib\n"
        "from PIL import Image, ImageEnhance\n"
        "source, target = map(pathlib.Path, sys.argv[1:])\n"
        "target.mkdir()\n"
        "for path in sorted(source.rglob('*.png')):\n"
        "    with Image.open(path) as image:\n"
        "        ImageEnhance.Brightness(image.convert('RGB')).enhance(0.33)"
        ".save(target / path.name)\n"
    )
    python = project.path / ".venv" / "bin" / "python"
    made = subprocess.run(
        [str(python), "-c", darken, str(batch), str(darker)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    result = project.make("drift", f"BATCH={darker}")
    assert not result.ok, result.describe()  # the CLI's exit 1 (make reports it as 2)
    assert "drift in brightness" in result.output, result.describe()
    report = (project.path / "reports" / "drift.md").read_text(encoding="utf-8")
    brightness = next(line for line in report.splitlines() if line.startswith("| brightness"))
    assert "yes" in brightness.split("|")[-2], report  # the table's last column: drift
