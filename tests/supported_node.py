"""The PATH under which jsii, the CDK CLI and the Provider-framework harness run on a supported Node."""

from __future__ import annotations

import subprocess
from pathlib import Path

NODE_PATH_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "node-path"


def node_first(path: str) -> str:
    """``path`` with the folder ``scripts/node-path`` chooses in front, as ``make`` puts it."""
    folder = subprocess.run(["sh", str(NODE_PATH_SCRIPT)], capture_output=True, text=True, check=False).stdout
    return path if not folder or path.startswith(folder) else folder + path
