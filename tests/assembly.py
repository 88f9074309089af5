"""Reading a synthesized cloud assembly."""

from __future__ import annotations

import json
from pathlib import Path


def handler_asset(cloud_assembly: Path, stack: str) -> Path:
    """The staged folder of the stack's one Lambda asset that holds the handler package."""
    manifest = json.loads((cloud_assembly / f"{stack}.assets.json").read_text())
    folders: list[Path] = [cloud_assembly / f["source"]["path"] for f in manifest["files"].values()
                           if f["source"].get("packaging") == "zip"]
    (ours,) = [f for f in folders if (f / "trail_import_handler").is_dir()]
    return ours
