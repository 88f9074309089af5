"""Syntheses kept in files between runs, for the tests that run handlers and need a synthesized template only as
their input.

Synthesizing imports aws_cdk, which starts jsii's Node. The mutation run forks its workers from its test process and
waits for whichever child ends first, so a Node child of that process stops it: it synthesizes every template once
beforehand (``pytest --setup-only``, in a process of its own) into the directory named by ``SYNTHESES_DIR``, and its
test process reads them from there. A run without ``SYNTHESES_DIR`` synthesizes in process, as any test does.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

DIR_ENV = "SYNTHESES_DIR"


def kept(name: str, build: Callable[[], Any], **key: Any) -> Any:
    """What ``build`` returns (JSON), read from its file under SYNTHESES_DIR when there is one, else built (and kept
    there when SYNTHESES_DIR is set). ``key`` names what the synthesis depends on beside ``name``: each distinct
    key is its own file."""
    folder = Path(os.environ[DIR_ENV]) if os.environ.get(DIR_ENV) else None
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
    path = folder / f"{name}-{digest}.json" if folder is not None else None
    if path is not None and path.exists():
        return json.loads(path.read_text())
    built = json.loads(json.dumps(build()))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(built))
    return built
