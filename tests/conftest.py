"""Shared fixtures: the CloudTrail import simulator behind boto3's default session."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import botocore.endpoint
import pytest

from tests.supported_node import node_first

# crhelper builds its clients when the handler module is imported: give it a region first.
os.environ.setdefault("AWS_REGION", "us-east-1")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
# Before jsii starts its Node (when aws_cdk is first imported): a supported one, as under make.
os.environ["PATH"] = node_first(os.environ["PATH"])

from moto import mock_aws

import tests.engine  # noqa: F401  (before any boto3 session: it answers Lambda's Invoke in-process)
from cloudtrail_lake_import.testing import (
    MOTO_CONFIG,
    CloudTrailImportSimulator,
    IamWorld,
    SimulatedTime,
    default_session,
)
from tests.driver import ProviderDriver, import_properties
from tests.handler_roles import HandlerRoles, synthesize
from trail_import_handler import clock

# Every authorization the IAM model decided in this run, for the closing summary.
_DECIDED = {"allowed": 0, "denied": 0}


@pytest.fixture(scope="session")
def handler_roles() -> HandlerRoles:
    """The handlers' roles as the constructs synthesize them (one synthesis per run)."""
    return synthesize()


@pytest.fixture
def iam(handler_roles: HandlerRoles) -> Iterator[IamWorld]:
    """IAM of the account, with the synthesized handler and access roles deployed."""
    world = handler_roles.world()
    yield world
    for decision in world.decisions:
        _DECIDED["allowed" if decision.allowed else "denied"] += 1


@pytest.fixture
def caller(handler_roles: HandlerRoles) -> str:
    """The role the handler under test runs as: the ImportProvider's."""
    return handler_roles.provider_role


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch, iam: IamWorld, caller: str) -> Iterator[CloudTrailImportSimulator]:
    """A fresh simulator answering every ``boto3.client("cloudtrail")`` of the test, IAM enforced as ``caller``."""
    simulator = CloudTrailImportSimulator()
    simulator.iam = iam
    monkeypatch.setattr(botocore.endpoint, "time", SimulatedTime(simulator))
    # The handler reads the time only to give up waiting; in tests, time is the simulator's.
    monkeypatch.setattr(clock, "now", lambda: simulator.now)
    with default_session(simulator, caller):
        yield simulator


@pytest.fixture
def destination(sim: CloudTrailImportSimulator) -> str:
    """The ARN of an event data store that exists in the simulator."""
    return sim.add_event_data_store()


@pytest.fixture
def props(destination: str) -> dict[str, str]:
    """Valid resource properties, as CloudFormation sends them (all strings)."""
    return import_properties(destination)


@pytest.fixture
def provider(sim: CloudTrailImportSimulator) -> ProviderDriver:
    """Plays CloudFormation requests through on_event / is_complete as the Provider framework does."""
    return ProviderDriver(sim)


@pytest.fixture
def aws(sim: CloudTrailImportSimulator, caller: str) -> Iterator[CloudTrailImportSimulator]:
    """moto for S3, IAM, EventBridge and Lambda, beside the simulator for CloudTrail."""
    # mock_aws resets boto3's default session: wire the simulator in again inside it.
    with mock_aws(config=MOTO_CONFIG), default_session(sim, caller):
        yield sim


@pytest.fixture
def away_from_utc() -> Iterator[str]:
    """The process's local time zone set far from UTC for the test (``TZ``), and put back after it."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    try:
        yield os.environ["TZ"]
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    checked = _DECIDED["allowed"] + _DECIDED["denied"]
    if checked:
        terminalreporter.write_line(f"IAM enforcement: {checked} authorizations checked against the synthesized "
                                    f"policies ({_DECIDED['denied']} denied)")
