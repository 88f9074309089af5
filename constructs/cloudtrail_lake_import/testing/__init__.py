"""Test doubles for code that drives CloudTrail Lake imports.

``CloudTrailImportSimulator`` is a stateful stand-in for the import APIs that
answers real boto3 clients; ``default_session`` wires it into boto3's default
session for code that calls ``boto3.client("cloudtrail")``.
"""

from ._wire import MOTO_CONFIG, Connection, default_session
from .simulator import CloudTrailImportSimulator, ImportPlan, Request, ScriptedFailure, ServiceError, failures

__all__ = [
    "MOTO_CONFIG",
    "CloudTrailImportSimulator",
    "Connection",
    "ImportPlan",
    "Request",
    "ScriptedFailure",
    "ServiceError",
    "default_session",
    "failures",
]
