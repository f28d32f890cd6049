"""The environment the build tests run a generated project's `make` targets in.

uv ignores pip's configuration. On machines where pip is configured with local wheel
folders, extra indexes or a constraints file, the equivalent uv variables are derived from
`pip config list` at run time, and only for stacks that need them: the tabular stack
installs from plain PyPI, and a uv.lock that recorded a local `file://` index would break
the project's Docker build, so local indexes are opt-in.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

# `pip config list` prints lines like  global.find-links='/opt/wheels'  or  :env:.cert='...'.
_CONFIG_LINE = re.compile(r"^(?P<scope>[^.]*)\.(?P<key>[\w-]+)='(?P<value>.*)'$")
# pip's precedence, lowest first: later scopes override earlier ones.
_SCOPE_ORDER = ("global", "user", "site", ":env:")


def pip_config() -> dict[str, str]:
    """pip's effective configuration (key -> value), or {} when pip is unavailable."""
    commands = []
    if shutil.which("pip"):
        commands.append(["pip", "config", "list"])
    commands.append([sys.executable, "-m", "pip", "config", "list"])
    for command in commands:
        try:
            completed = subprocess.run(
                command, capture_output=True, text=True, check=False, timeout=60
            )
        except OSError:
            continue
        if completed.returncode == 0:
            return parse_pip_config(completed.stdout)
    return {}


def parse_pip_config(listing: str) -> dict[str, str]:
    """Parse `pip config list` output, honouring pip's scope precedence."""
    by_scope: dict[str, dict[str, str]] = {}
    for line in listing.splitlines():
        match = _CONFIG_LINE.match(line.strip())
        if match:
            by_scope.setdefault(match["scope"], {})[match["key"]] = match["value"]
    merged: dict[str, str] = {}
    for scope in sorted(by_scope, key=lambda s: _SCOPE_ORDER.index(s) if s in _SCOPE_ORDER else 0):
        merged.update(by_scope[scope])
    return merged


# What `uv_variables(..., local_indexes=True)` adds for the local indexes (with UV_NO_SOURCES).
LOCAL_INDEX_VARIABLES = frozenset(
    {"UV_FIND_LINKS", "UV_EXTRA_INDEX_URL", "UV_INDEX_STRATEGY", "UV_CONSTRAINT"}
)


def pypi_only(environment: Mapping[str, str]) -> dict[str, str]:
    """``environment`` without this machine's local indexes, and with the project's own
    index sources still off: what locks a project from PyPI alone."""
    kept = {key: value for key, value in environment.items() if key not in LOCAL_INDEX_VARIABLES}
    return {**kept, "UV_NO_SOURCES": "1"}


def uv_variables(config: Mapping[str, str], *, local_indexes: bool = False) -> dict[str, str]:
    """uv environment variables equivalent to pip's configuration.

    The CA bundle is always carried over (it only changes how TLS is verified). Local
    wheel folders, extra indexes and the constraints file only with `local_indexes=True`.
    """
    variables: dict[str, str] = {}
    if config.get("cert"):
        variables["SSL_CERT_FILE"] = config["cert"]
    if not local_indexes:
        return variables
    if config.get("find-links"):
        # uv splits UV_FIND_LINKS on commas; pip separates several values with whitespace.
        variables["UV_FIND_LINKS"] = ",".join(config["find-links"].split())
    if config.get("extra-index-url"):
        variables["UV_EXTRA_INDEX_URL"] = " ".join(config["extra-index-url"].split())
        # Without this uv takes the first index that lists a package, missing newer versions.
        variables["UV_INDEX_STRATEGY"] = "unsafe-best-match"
    if config.get("constraint"):
        variables["UV_CONSTRAINT"] = " ".join(config["constraint"].split())
    if variables.keys() & {"UV_FIND_LINKS", "UV_EXTRA_INDEX_URL"}:
        # The local indexes stand in for the ones a project names in [tool.uv.sources]
        # (PyTorch's CPU index), which cannot be reached where local indexes are configured.
        variables["UV_NO_SOURCES"] = "1"
    return variables


def project_environment(
    base: Mapping[str, str] | None = None, *, local_indexes: bool = False
) -> dict[str, str]:
    """Environment for running a generated project's `make` targets and its service.

    - pip's settings translated for uv (see `uv_variables`), unless already set;
    - bytecode written (these shells set PYTHONDONTWRITEBYTECODE, which makes every
      short-lived process re-compile pandas/sklearn: 2.5-3x slower imports). Only that
      variable is dropped: UV_COMPILE_BYTECODE=1 would make every `uv run` in the Makefile
      re-compile all of site-packages (~1.3 s each), while Python itself writes the .pyc
      of the modules actually imported, once;
    - the test runner's own virtualenv and pytest settings hidden, so uv uses the
      project's `.venv` and the project's pytest reads only its own configuration.
    """
    environment = dict(os.environ if base is None else base)
    for key, value in uv_variables(pip_config(), local_indexes=local_indexes).items():
        environment.setdefault(key, value)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    for leaked in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONPATH", "PIPELINE_CONFIG"):
        environment.pop(leaked, None)
    # The outer pytest's own variables (PYTEST_CURRENT_TEST, PYTEST_ADDOPTS, ...) must not
    # reach the project's `make test`.
    for key in [key for key in environment if key.startswith("PYTEST_")]:
        del environment[key]
    environment["UV_NO_PROGRESS"] = "1"
    environment["PYTHONUNBUFFERED"] = "1"
    return environment


def venv_script(project: Path, name: str) -> Path:
    """A console script installed in a project's `.venv` by `uv sync`."""
    return project / ".venv" / "bin" / name
