"""AWS CDK constructs that import CloudTrail trail logs from S3 into CloudTrail Lake.

The constructs load on first use, so that ``cloudtrail_lake_import.cli`` and
``cloudtrail_lake_import.testing`` start without the CDK's jsii runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .access_role import ImportAccessRole
    from .import_provider import ImportProvider
    from .standalone_provider import StandaloneImportProvider
    from .trail_import import TrailImport

__all__ = ["ImportAccessRole", "ImportProvider", "StandaloneImportProvider", "TrailImport"]

_MODULES = {
    "ImportAccessRole": ".access_role",
    "ImportProvider": ".import_provider",
    "StandaloneImportProvider": ".standalone_provider",
    "TrailImport": ".trail_import",
}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(importlib.import_module(_MODULES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
