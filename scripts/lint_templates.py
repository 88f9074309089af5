"""cfn-lint over CloudFormation templates that use the registry resource type: ``make lint-templates``.

    python scripts/lint_templates.py [TEMPLATE ...]   # default: examples/*.yaml

cfn-lint knows a registry type only from its schema, given with ``--registry-schemas FOLDER``, and it reads every
.json file of that folder as a schema: ``registry/`` also holds the contract tests' inputs, which it cannot read.
So the type's schema is copied into a folder of its own first. Extra cfn-lint arguments follow ``--``.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "registry" / "traillogs-cloudtraillake-import.json"


@functools.cache
def registry_schemas() -> Path:
    """A folder holding the type's schema alone."""
    folder = Path(tempfile.mkdtemp(prefix="registry-schemas-"))
    shutil.copy(SCHEMA, folder)
    return folder


def command(templates: list[str], *extra: str) -> list[str]:
    """The cfn-lint command line for ``templates``, with the type's schema."""
    return [str(Path(sys.executable).parent / "cfn-lint"), *templates, "--registry-schemas", str(registry_schemas()),
            *extra]


def main(argv: list[str]) -> int:
    templates, _, extra = (argv[: argv.index("--")], None, argv[argv.index("--") + 1:]) if "--" in argv \
        else (argv, None, [])
    templates = templates or sorted(str(p) for p in (ROOT / "examples").glob("*.yaml"))
    return subprocess.run(command(templates, *extra), check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
