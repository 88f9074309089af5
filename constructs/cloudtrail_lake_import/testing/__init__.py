"""Test doubles for code that drives CloudTrail Lake imports.

``CloudTrailImportSimulator`` is a stateful stand-in for the import APIs that
answers real boto3 clients; ``default_session`` wires it into boto3's default
session for code that calls ``boto3.client("cloudtrail")``. ``IamWorld`` holds
the roles, buckets, keys and policies of synthesized templates (``load``); set
it as ``simulator.iam`` and give ``default_session`` a caller, and every call
is authorized as IAM would, StartImport's checks on the access role included.
"""

from . import _wire
from ._wire import Connection, SimulatedTime, default_session
from .deployment import Deployment
from .enforcement import IamEnforcement
from .iam_world import IamWorld
from .service_error import ServiceError
from .signed_archive import SignedArchive, SigningKey
from .simulator import CloudTrailImportSimulator, ImportPlan, Request, ScriptedFailure, failures

MOTO_CONFIG = _wire.MOTO_CONFIG
"""moto's configuration for tests beside the simulator: ``mock_aws(config=MOTO_CONFIG)`` lets CloudTrail requests
through to the simulator that ``default_session`` installs, while moto answers S3, IAM and the rest."""

__all__ = [
    "MOTO_CONFIG",
    "CloudTrailImportSimulator",
    "Connection",
    "Deployment",
    "IamEnforcement",
    "IamWorld",
    "ImportPlan",
    "Request",
    "ScriptedFailure",
    "ServiceError",
    "SignedArchive",
    "SigningKey",
    "SimulatedTime",
    "default_session",
    "failures",
]
