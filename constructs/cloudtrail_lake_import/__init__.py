"""AWS CDK constructs that import CloudTrail trail logs from S3 into CloudTrail Lake.

The constructs load on first use, so that ``cloudtrail_lake_import.cli`` and
``cloudtrail_lake_import.testing`` start without the CDK's jsii runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .access_role import ImportAccessRole
    from .archive_verification import ArchiveVerification, VerifiedWindow
    from .import_monitor import ImportMonitor
    from .import_provider import ImportProvider
    from .resource_type import ResourceTypeRegistration
    from .source_access import SourceAccess, allow_import_from, source_access
    from .standalone_provider import StandaloneImportProvider
    from .trail_import import TrailImport

__version__ = "0.4.0"
"""The release, and the one place it is written (pyproject.toml reads it from here)."""

__all__ = [
    "ArchiveVerification",
    "ImportAccessRole",
    "ImportMonitor",
    "ImportProvider",
    "ResourceTypeRegistration",
    "SourceAccess",
    "StandaloneImportProvider",
    "TrailImport",
    "VerifiedWindow",
    "allow_import_from",
    "source_access",
]

_MODULES = {
    "ArchiveVerification": ".archive_verification",
    "ImportAccessRole": ".access_role",
    "ImportMonitor": ".import_monitor",
    "ImportProvider": ".import_provider",
    "ResourceTypeRegistration": ".resource_type",
    "SourceAccess": ".source_access",
    "StandaloneImportProvider": ".standalone_provider",
    "TrailImport": ".trail_import",
    "VerifiedWindow": ".archive_verification",
    "allow_import_from": ".source_access",
    "source_access": ".source_access",
}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(importlib.import_module(_MODULES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
