"""cookiecutter's post-generation hook: render the project with Copier, into cookiecutter's folder.

cookiecutter made the project folder with one placeholder file in it (cookiecutter needs a
templated folder to make). This hook removes the placeholder and has Copier render the project
there, from the template cookiecutter read and with the answers it asked, never trusting the
template (`unsafe=False`). Copier writes `.copier-answers.yml`, so `copier update` brings later
template releases into the project. cookiecutter renders this file with Jinja before running
it, so the two strings below hold the template's root and the answers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TEMPLATE_DIR = Path(r"""{{ template_dir(cookiecutter._repo_dir) }}""")
ANSWERS = json.loads(r"""{{ cookiecutter | jsonify }}""")

PLACEHOLDER = "COOKIECUTTER.md"
INSTALL_COPIER = """\
ai-project-template renders its projects with Copier, which is not installed beside
cookiecutter ({python}). Install it where cookiecutter runs, then run cookiecutter again:
    pipx inject cookiecutter copier             (cookiecutter installed with pipx)
    uv tool install cookiecutter --with copier  (cookiecutter installed with uv)
    {python} -m pip install copier
or run both at once: uvx --with copier cookiecutter {template}"""


def main() -> int:
    sys.path.insert(0, str(TEMPLATE_DIR))
    import aipt_cookiecutter  # the template's own module, from the path above

    project = Path.cwd()
    (project / PLACEHOLDER).unlink(missing_ok=True)
    try:
        import copier
    except ImportError:
        template = ANSWERS["_template"]
        print(INSTALL_COPIER.format(python=sys.executable, template=template), file=sys.stderr)
        return 1
    source, ref = aipt_cookiecutter.copier_source(TEMPLATE_DIR, ANSWERS["_template"])
    data = aipt_cookiecutter.copier_data(TEMPLATE_DIR, ANSWERS)
    try:
        copier.run_copy(source, project, data=data, defaults=True, unsafe=False, vcs_ref=ref)
    except Exception as error:  # one line for the user; cookiecutter then removes the folder
        print(f"Copier could not render the project: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
