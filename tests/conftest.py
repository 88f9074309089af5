"""Shared fixtures: the CloudTrail import simulator behind boto3's default session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import botocore.endpoint
import pytest

# crhelper builds its clients when the handler module is imported: give it a region first.
os.environ.setdefault("AWS_REGION", "us-east-1")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

from moto import mock_aws

from cloudtrail_lake_import.testing import MOTO_CONFIG, CloudTrailImportSimulator, default_session
from tests.driver import ProviderDriver, import_properties
from trail_import_handler import clock


class SimulatedTime:
    """botocore's ``time`` module, whose retry backoff passes on the simulator's clock."""

    def __init__(self, simulator: CloudTrailImportSimulator) -> None:
        self._simulator = simulator
        self.slept = 0.0

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self._simulator.advance(seconds)

    def __getattr__(self, name: str) -> Any:
        import time

        return getattr(time, name)


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudTrailImportSimulator]:
    """A fresh simulator answering every ``boto3.client("cloudtrail")`` of the test."""
    simulator = CloudTrailImportSimulator()
    monkeypatch.setattr(botocore.endpoint, "time", SimulatedTime(simulator))
    # The handler reads the time only to give up waiting; in tests, time is the simulator's.
    monkeypatch.setattr(clock, "now", lambda: simulator.now)
    with default_session(simulator):
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
def aws(sim: CloudTrailImportSimulator) -> Iterator[CloudTrailImportSimulator]:
    """moto for S3, IAM, EventBridge and Lambda, beside the simulator for CloudTrail."""
    # mock_aws resets boto3's default session: wire the simulator in again inside it.
    with mock_aws(config=MOTO_CONFIG), default_session(sim):
        yield sim
