"""cookiecutter's pre-generation hook: refuse what copier.yml refuses, with Copier's message.

cookiecutter renders this file with Jinja before running it, so the two strings below hold the
template's root and the answers. The rules are copier.yml's own (choices and validators, read
and rendered by `aipt_cookiecutter.refusal`), so cookiecutter and Copier refuse the same answers
with the same words. On a refusal the message goes to stderr as one line and the hook exits 1;
cookiecutter then removes the project folder it made for this run: nothing is written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TEMPLATE_DIR = Path(r"""{{ template_dir(cookiecutter._repo_dir) }}""")
ANSWERS = json.loads(r"""{{ cookiecutter | jsonify }}""")


def main() -> int:
    sys.path.insert(0, str(TEMPLATE_DIR))
    import aipt_cookiecutter  # the template's own module, from the path above

    message = aipt_cookiecutter.refusal(TEMPLATE_DIR, ANSWERS)
    if message is not None:
        print(message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
