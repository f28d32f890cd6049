"""The exact set of files a set of answers must generate.

Written out by hand on purpose: a file that appears or disappears without this list
changing is a bug (a missing `if` in a file name, a stray editor backup, a shared file a
variant forgot to include), and the render tests say which file it was. Files every project
has are listed here; each variant's own files are in its registry entry
(`harness.variants`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.variants import VARIANTS

# Files every project has, whatever the variant: the shared layer, and the modules the
# variant contract requires each variant to provide (config, cli, artefacts, the service's
# own part). `{pkg}` is the package.
SHARED = """
.copier-answers.yml
.env.example
.gitignore
.pre-commit-config.yaml
LICENSE
MODEL_CARD.md
Makefile
README.md
configs/pipeline.yaml
pyproject.toml
src/{pkg}/__init__.py
src/{pkg}/__main__.py
src/{pkg}/api/__init__.py
src/{pkg}/api/deps.py
src/{pkg}/api/docs.py
src/{pkg}/api/errors.py
src/{pkg}/api/limits.py
src/{pkg}/api/main.py
src/{pkg}/api/model_store.py
src/{pkg}/api/observability.py
src/{pkg}/api/offload.py
src/{pkg}/api/payloads.py
src/{pkg}/api/predictor.py
src/{pkg}/api/replies.py
src/{pkg}/api/routes/__init__.py
src/{pkg}/api/routes/health.py
src/{pkg}/api/routes/predict.py
src/{pkg}/api/routes/prometheus.py
src/{pkg}/api/server.py
src/{pkg}/artefacts.py
src/{pkg}/cli.py
src/{pkg}/cli_base.py
src/{pkg}/config.py
src/{pkg}/config_base.py
src/{pkg}/drift.py
src/{pkg}/model_dir.py
src/{pkg}/readiness.py
src/{pkg}/reports.py
src/{pkg}/tracking.py
tests/conftest.py
tests/api/conftest.py
tests/api/test_offload.py
tests/api/test_server.py
tests/api/test_service.py
tests/test_config_base.py
tests/test_drift.py
tests/test_model_dir.py
tests/test_readiness.py
tests/test_reports.py
tests/test_tracking.py
"""

DOCKER = """
.dockerignore
Dockerfile
compose.yaml
"""

GITHUB = """
.github/dependabot.yml
.github/workflows/ci.yml
.github/workflows/release-check.yml
"""

GITLAB = """
.gitlab-ci.yml
"""

# The `template-updates` extra (GitHub only: copier.yml refuses it with another ci).
TEMPLATE_UPDATES = """
.github/template_update.py
.github/workflows/template-update.yml
"""


def _lines(block: str, package: str) -> set[str]:
    return {line.format(pkg=package) for line in block.split() if line}


def expected_files(answers: Mapping[str, Any]) -> set[str]:
    """Every file (as a POSIX path relative to the project root) the answers must produce."""
    package = answers["package_name"]
    files = _lines(SHARED, package) | _lines(VARIANTS[answers["variant"]].files, package)
    if "docker" in answers["extras"]:
        files |= _lines(DOCKER, package)
    if answers["ci"] == "github":
        files |= _lines(GITHUB, package)
        if "template-updates" in answers["extras"]:
            files |= _lines(TEMPLATE_UPDATES, package)
    if answers["ci"] == "gitlab":
        files |= _lines(GITLAB, package)
    return files
