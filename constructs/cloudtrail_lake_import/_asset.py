"""The Lambda asset: the handler package alone, found from a checkout or an installed wheel."""

from __future__ import annotations

import functools
import importlib.util
import shutil
import tempfile
from pathlib import Path

from aws_cdk import aws_lambda

_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


@functools.cache
def _staged(packages: tuple[str, ...]) -> str:
    """A folder holding just ``packages``; its content, not its path, makes the asset hash."""
    folder = Path(tempfile.mkdtemp(prefix="trail-import-asset-"))
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"package {name} is not installed; reinstall cdk-cloudtrail-lake-import")
        source = Path(next(iter(spec.submodule_search_locations)))
        shutil.copytree(source, folder / name, ignore=_IGNORED)
    return str(folder)


def handler_code() -> aws_lambda.Code:
    """The Provider framework handler: ``trail_import_handler`` only (boto3 comes with the runtime)."""
    return aws_lambda.Code.from_asset(_staged(("trail_import_handler",)))


def crhelper_code() -> aws_lambda.Code:
    """The plain-CloudFormation handler: ``trail_import_handler`` and ``crhelper``."""
    return aws_lambda.Code.from_asset(_staged(("trail_import_handler", "crhelper")))
