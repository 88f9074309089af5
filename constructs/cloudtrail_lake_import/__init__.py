"""AWS CDK constructs that import CloudTrail trail logs from S3 into CloudTrail Lake."""

from .access_role import ImportAccessRole
from .import_provider import ImportProvider
from .standalone_provider import StandaloneImportProvider
from .trail_import import TrailImport

__all__ = ["ImportAccessRole", "ImportProvider", "StandaloneImportProvider", "TrailImport"]
