"""Any ResourceProperties end in a well-formed SUCCESS or FAILED answer and leave no import running unowned."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import botocore.endpoint
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudtrail_lake_import.testing import CloudTrailImportSimulator, ImportPlan, SimulatedTime, default_session
from cloudtrail_lake_import.testing.framework import ProviderFramework
from tests.driver import ProviderDriver, import_properties
from tests.handler_roles import HandlerRoles
from trail_import_handler import provider

KEYS = ["EventDataStoreArn", "S3LocationUri", "S3BucketRegion", "S3BucketAccessRoleArn", "StartEventTime",
        "EndEventTime", "WaitForCompletion", "MaxFailedEntries", "RetryToken"]
ODD_VALUES = st.one_of(
    st.text(max_size=40),
    st.text(min_size=2000, max_size=5000),
    st.integers(), st.floats(allow_nan=True), st.booleans(), st.none(),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
    st.sampled_from(["${Token[TOKEN.123]}", "true", "false", "TRUE", "-1", "0", "1e3", "9" * 30,
                     "2024-02-30T00:00:00Z", "2024-01-01T00:00:00", "2024-01-01T00:00:00+14:00",
                     "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "s3://", "s3://a/b", "s3://trail-logs/ünïcode",
                     "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/trail-archive",
                     "arn:aws:iam::111122223333:role/a", "us-east-1", "\u0000", "🪵"]),
)


@st.composite
def resource_properties(draw: st.DrawFn) -> dict[str, Any]:
    props: dict[str, Any] = import_properties(
        "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/trail-archive")
    for key in draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=4)):
        if draw(st.booleans()):
            props.pop(key, None)
        else:
            props[key] = draw(ODD_VALUES)
    if draw(st.integers(0, 9)) == 0:
        props[draw(st.text(min_size=1, max_size=12))] = draw(ODD_VALUES)
    return props


def _world(monkeypatch: pytest.MonkeyPatch, roles: HandlerRoles) -> CloudTrailImportSimulator:
    sim = CloudTrailImportSimulator()
    sim.iam = roles.world()
    sim.add_event_data_store("trail-archive")
    sim.default_plan = ImportPlan(duration=timedelta(minutes=3), initializing=timedelta(seconds=30))
    monkeypatch.setattr(botocore.endpoint, "time", SimulatedTime(sim))
    return sim


ENTRY_POINT_EXAMPLES = 200
FRAMEWORK_EXAMPLES = 25


@settings(max_examples=ENTRY_POINT_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(props=resource_properties())
def test_any_properties_through_the_entry_points(monkeypatch: pytest.MonkeyPatch, handler_roles: HandlerRoles,
                                                props: dict[str, Any]) -> None:
    sim = _world(monkeypatch, handler_roles)
    with default_session(sim, handler_roles.provider_role):
        driver = ProviderDriver(sim)
        created = driver.create(props)  # raises on anything but a handled failure
        assert created.status in ("SUCCESS", "FAILED")
        assert created.status == "SUCCESS" or created.reason.strip()
        json.dumps(created.data)
        deleted = driver.delete(created.physical_id, props)
        assert deleted.status == "SUCCESS"
        assert sim.running() == [], "an import runs that no resource owns"


@settings(max_examples=FRAMEWORK_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(props=resource_properties())
def test_any_properties_through_the_real_framework(monkeypatch: pytest.MonkeyPatch, handler_roles: HandlerRoles,
                                                   props: dict[str, Any]) -> None:
    sim = _world(monkeypatch, handler_roles)
    with default_session(sim, handler_roles.provider_role):
        cfn = ProviderFramework(provider.on_event, provider.is_complete, advance=sim.advance, total_timeout=600)
        base = {"StackId": "arn:aws:cloudformation:us-east-1:111122223333:stack/s/g", "LogicalResourceId": "Import",
                "ResourceType": "Custom::CloudTrailLakeImport", "ResourceProperties": props}
        created = cfn.request({**base, "RequestType": "Create", "RequestId": "create"}).response
        assert created["Status"] in ("SUCCESS", "FAILED")
        assert created["PhysicalResourceId"]
        assert len(json.dumps(created).encode()) < 4096
        deleted = cfn.request({**base, "RequestType": "Delete", "RequestId": "delete",
                               "PhysicalResourceId": created["PhysicalResourceId"]}).response
        assert deleted["Status"] == "SUCCESS"
        assert sim.running() == []
