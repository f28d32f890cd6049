"""The exact set of files a set of answers must generate.

Written out by hand on purpose: a file that appears or disappears without this list
changing is a bug (a missing `if` in a file name, a stray editor backup, a partial that
escaped `templates/_shared/`), and the render tests say which file it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Files every tabular project has, relative to the project root. `{pkg}` is the package.
_ALWAYS = """
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
src/{pkg}/api/fast_path.py
src/{pkg}/api/limits.py
src/{pkg}/api/main.py
src/{pkg}/api/model_store.py
src/{pkg}/api/observability.py
src/{pkg}/api/payloads.py
src/{pkg}/api/predictor.py
src/{pkg}/api/routes/__init__.py
src/{pkg}/api/routes/health.py
src/{pkg}/api/routes/predict.py
src/{pkg}/api/routes/prometheus.py
src/{pkg}/artefacts.py
src/{pkg}/cli.py
src/{pkg}/config.py
src/{pkg}/config_base.py
src/{pkg}/data.py
src/{pkg}/eda.py
src/{pkg}/evaluate.py
src/{pkg}/families.py
src/{pkg}/features.py
src/{pkg}/figures.py
src/{pkg}/markdown.py
src/{pkg}/metrics.py
src/{pkg}/model_dir.py
src/{pkg}/monitoring.py
src/{pkg}/readme_results.py
src/{pkg}/sample_data.py
src/{pkg}/schema.py
src/{pkg}/tracking.py
src/{pkg}/train.py
tests/__init__.py
tests/conftest.py
tests/api/__init__.py
tests/api/conftest.py
tests/api/test_fast_path.py
tests/api/test_predict.py
tests/api/test_predictor.py
tests/api/test_service.py
tests/test_artefacts.py
tests/test_cli.py
tests/test_config.py
tests/test_config_base.py
tests/test_data.py
tests/test_eda.py
tests/test_evaluate.py
tests/test_features.py
tests/test_model_dir.py
tests/test_monitoring.py
tests/test_readme_results.py
tests/test_sample_data.py
tests/test_schema.py
tests/test_tracking.py
tests/test_train.py
"""

_DOCKER = """
.dockerignore
Dockerfile
compose.yaml
"""

_GITHUB = """
.github/dependabot.yml
.github/workflows/ci.yml
"""

_GITLAB = """
.gitlab-ci.yml
"""


def _lines(block: str, package: str) -> set[str]:
    return {line.format(pkg=package) for line in block.split() if line}


def expected_files(answers: Mapping[str, Any]) -> set[str]:
    """Every file (as a POSIX path relative to the project root) the answers must produce."""
    package = answers["package_name"]
    extras = answers["extras"]
    files = _lines(_ALWAYS, package)
    if "docker" in extras:
        files |= _lines(_DOCKER, package)
    if answers["ci"] == "github":
        files |= _lines(_GITHUB, package)
    if answers["ci"] == "gitlab":
        files |= _lines(_GITLAB, package)
    return files
