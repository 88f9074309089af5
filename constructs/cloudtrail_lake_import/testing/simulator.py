"""A stateful simulator of the CloudTrail Lake import service.

Imports move INITIALIZING -> IN_PROGRESS -> COMPLETED or FAILED over a clock
the caller controls; their statistics grow with it; failures are scripted per
import; StopImport moves a running import to STOPPED; one import runs at a
time per account and region. It answers real boto3 clients over botocore's
``before-send`` hook (see ``_wire``), so botocore validates every request
against the real service model and parses every answer, errors included.
"""

from __future__ import annotations

import functools
import itertools
import uuid
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session

from .iam_world import IamWorld
from .import_access import check_import_access
from .service_error import ServiceError
from .simulated_import import ImportPlan, ScriptedFailure, SimulatedImport, failures

__all__ = ["CloudTrailImportSimulator", "EventDataStore", "ImportPlan", "Request", "ScriptedFailure",
           "SimulatedImport", "failures"]

RUNNING = ("INITIALIZING", "IN_PROGRESS")


@dataclass
class EventDataStore:
    """One event data store, as GetEventDataStore describes it."""

    arn: str
    status: str = "ENABLED"
    retention_days: int = 2557
    organization: bool = False
    categories: tuple[str, ...] = ("Management",)
    created: datetime = datetime(2026, 1, 1, tzinfo=UTC)

    def describe(self) -> dict[str, Any]:
        selectors = [{"Name": "events", "FieldSelectors": [{"Field": "eventCategory",
                                                            "Equals": list(self.categories)}]}]
        return {
            "EventDataStoreArn": self.arn, "Name": self.arn.rsplit("/", 1)[-1], "Status": self.status,
            "AdvancedEventSelectors": selectors, "MultiRegionEnabled": True,
            "OrganizationEnabled": self.organization, "RetentionPeriod": self.retention_days,
            "TerminationProtectionEnabled": True, "CreatedTimestamp": self.created,
            "UpdatedTimestamp": self.created, "BillingMode": "FIXED_RETENTION_PRICING",
        }


@dataclass
class Fault:
    """An error the next matching request gets; ``applied`` means the request took effect first."""

    code: str
    status: int
    message: str
    applied: bool
    page: str | None = None


@dataclass
class _Rate:
    """A token bucket of one request: refills at ``per_second`` on the simulator's clock."""

    per_second: float
    last: datetime
    tokens: float = 1.0

    def take(self, now: datetime) -> bool:
        self.tokens = min(1.0, self.tokens + (now - self.last).total_seconds() * self.per_second)
        self.last = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


@dataclass(frozen=True)
class Request:
    """One request as the service saw it, and how it was answered."""

    operation: str
    """The API operation, such as StartImport."""
    params: dict[str, Any]
    """The request's parameters, its timestamps as datetimes."""
    error: str | None
    """The error code it was answered with; None when it was answered."""


class CloudTrailImportSimulator:
    """The import APIs of one account and region, over a controllable clock."""

    def __init__(self, *, account: str = "111122223333", region: str = "us-east-1",
                 start: datetime = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)) -> None:
        self.account = account
        """The account the simulator's imports and event data stores belong to."""
        self.region = region
        """The region the simulator answers for."""
        self.now = start
        """The simulator's clock: imports progress as it advances (advance), never on the wall clock."""
        self.imports: dict[str, SimulatedImport] = {}
        """Every import by ImportId: those started here and those added as past or another team's."""
        self.event_data_stores: dict[str, EventDataStore] = {}
        """The event data stores by ARN (add_event_data_store)."""
        self.requests: list[Request] = []
        """Every request in the order it came, answered or refused (calls gives the answered ones)."""
        self.default_plan = ImportPlan()
        """How an import runs when no plan_next_import is queued."""
        self.stop_seconds = 10.0
        """Seconds a StopImport takes to leave the import STOPPED."""
        self.page_size = {"ListImports": 20, "ListImportFailures": 50}
        """The most entries a page of ListImports and ListImportFailures holds (fewer when MaxResults asks for
        fewer)."""
        self.rejected_sources: dict[str, str] = {}
        """S3LocationUri values StartImport refuses, with the message of its InvalidImportSourceException
        (reject_source)."""
        self.iam: IamWorld | None = None
        """When set, StartImport checks IAM as CloudTrail does (see ``import_access``)."""
        self._caller: str | None = None
        self._plans: deque[ImportPlan] = deque()
        self._faults: dict[str, deque[Fault]] = {}
        self._rates: dict[str, _Rate] = {}
        self.public_keys: list[dict[str, Any]] = []
        """What ListPublicKeys answers: entries of Value (DER bytes), ValidityStartTime, ValidityEndTime,
        Fingerprint (``signed_archive.SigningKey.entry()``)."""
        self._stop_after: timedelta | None = None
        self._ids = (uuid.UUID(int=n) for n in itertools.count(0xA000_0000_0000_0000_0000_0000_0000_0001))

    # --- scripting -------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(seconds=seconds)
        if self._stop_after is not None:
            for imp in self.imports.values():
                if imp.status(self.now) in RUNNING and self.now - imp.created > self._stop_after:
                    self._stop_after = None
                    self._stop(imp)
                    break

    def add_event_data_store(self, name: str = "trail-archive", **details: Any) -> str:
        """Register an event data store (``details``: see ``EventDataStore``) and return its ARN."""
        arn = name if name.startswith("arn:") else \
            f"arn:aws:cloudtrail:{self.region}:{self.account}:eventdatastore/{name}"
        self.event_data_stores[arn] = EventDataStore(arn, **details)
        return arn

    def plan_next_import(self, plan: ImportPlan) -> None:
        """The next import started (not retried) runs by ``plan``; otherwise ``default_plan``."""
        self._plans.append(plan)

    def inject_fault(self, operation: str, code: str = "ThrottlingException", *, status: int = 400,
                     times: int = 1, message: str = "Rate exceeded", applied: bool = False) -> None:
        """The next ``times`` requests of ``operation`` fail with ``code``."""
        queue = self._faults.setdefault(operation, deque())
        queue.extend(Fault(code, status, message, applied) for _ in range(times))

    def answer_with_page(self, operation: str, status: int = 503, *, times: int = 1,
                         page: str = "<html><head><title>503 Service Temporarily Unavailable</title></head>"
                                     "<body><center><h1>503 Service Temporarily Unavailable</h1></center>"
                                     "</body></html>") -> None:
        """The next ``times`` requests of ``operation`` are answered by a web page with ``status``, as a proxy or
        load balancer between the caller and CloudTrail answers when it cannot reach it."""
        queue = self._faults.setdefault(operation, deque())
        queue.extend(Fault("", status, "", False, page) for _ in range(times))

    def throttle(self, operation: str, per_second: float) -> None:
        """Answer ``operation`` with ThrottlingException beyond ``per_second`` requests a second, on this clock.

        AWS publishes no rate for the import APIs; a low one shows what a caller does when it meets one.
        """
        self._rates[operation] = _Rate(per_second, self.now)

    def add_past_import(self, destination: str, source: dict[str, str], *, start: datetime | None = None,
                        end: datetime | None = None, status: str = "COMPLETED",
                        created: datetime | None = None) -> str:
        """An import that ran before the scenario begins and ended ``status`` (COMPLETED, FAILED or STOPPED)."""
        created = created or self.now - timedelta(days=30)
        plan = replace(self.default_plan, failures=failures(1) if status == "FAILED" else ())
        imp = SimulatedImport(import_id=str(next(self._ids)), destinations=[destination], source=dict(source),
                              start_event_time=start, end_event_time=end, created=created, plan=plan,
                              run_started=created, stop_seconds=self.stop_seconds)
        if status == "STOPPED":
            imp.stop_requested = created + plan.initializing
        self.imports[imp.import_id] = imp
        assert imp.status(self.now) == status, imp.status(self.now)
        return imp.import_id

    def hold_account(self, duration: timedelta, *, destination: str | None = None) -> str:
        """Another import, of a source of nobody's here, runs for ``duration`` from now: until it ends, StartImport
        answers AccountHasOngoingImportException."""
        destination = destination or next(iter(self.event_data_stores), "")
        plan = replace(self.default_plan, duration=duration, initializing=min(duration, self.default_plan.initializing))
        imp = SimulatedImport(import_id=str(next(self._ids)), destinations=[destination],
                              source={"S3LocationUri": "s3://another-teams-trail-logs", "S3BucketRegion": self.region,
                                      "S3BucketAccessRoleArn": f"arn:aws:iam::{self.account}:role/AnotherTeam"},
                              start_event_time=None, end_event_time=None, created=self.now, plan=plan,
                              run_started=self.now, stop_seconds=self.stop_seconds)
        self.imports[imp.import_id] = imp
        return imp.import_id

    def reject_source(self, uri: str, message: str) -> None:
        """StartImport from ``uri`` answers InvalidImportSourceException with ``message``."""
        self.rejected_sources[uri] = message

    def stop_from_outside(self, import_id: str) -> None:
        """Someone else calls StopImport on ``import_id``."""
        self._stop(self.imports[import_id])

    def stop_from_outside_after(self, elapsed: timedelta) -> None:
        """Someone else calls StopImport on the running import once it has run longer than ``elapsed``, as the clock
        advances: a stop while a caller waits for it."""
        self._stop_after = elapsed

    def status_of(self, import_id: str) -> str:
        """The status of import_id now: INITIALIZING, IN_PROGRESS, FAILED, STOPPED or COMPLETED."""
        return self.imports[import_id].status(self.now)

    def running(self) -> list[str]:
        """Ids of the imports running now."""
        return [i for i, imp in self.imports.items() if imp.status(self.now) in RUNNING]

    def calls(self, operation: str) -> list[Request]:
        """Requests of ``operation`` that the service answered without an error."""
        return [r for r in self.requests if r.operation == operation and r.error is None]

    def copied_events(self, destination: str) -> int:
        """Events the imports into ``destination`` copied, counted once per copy: a duplicate import counts again."""
        return sum(imp.statistics(self.now)["EventsCompleted"] for imp in self.imports.values()
                   if destination in imp.destinations)

    def finish_all(self) -> None:
        """Advance the clock until no import runs."""
        while self.running():
            self.advance(60)

    # --- the API ----------------------------------------------------------------------
    def handle(self, operation: str, params: dict[str, Any], caller: str | None = None) -> dict[str, Any]:
        """Answer one request of ``caller`` (a role ARN) or raise ``ServiceError``; records it either way."""
        queue = self._faults.get(operation)
        fault = queue.popleft() if queue else None
        rate = self._rates.get(operation)
        try:
            if rate is not None and not rate.take(self.now):
                raise ServiceError("ThrottlingException", "Rate exceeded")
            if fault is not None and not fault.applied:
                raise ServiceError(fault.code, fault.message, fault.status, fault.page)
            method = getattr(self, "_op_" + operation, None)
            if method is None:
                raise ServiceError("UnsupportedOperationException", f"{operation} is not simulated.")
            self._caller = caller
            answer: dict[str, Any] = method(params)
            if fault is not None:
                raise ServiceError(fault.code, fault.message, fault.status)
        except ServiceError as error:
            self.requests.append(Request(operation, params, error.code))
            raise
        self.requests.append(Request(operation, params, None))
        return answer

    def _op_StartImport(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("ImportId"):
            imp = self._find(params["ImportId"])
            if imp.status(self.now) not in ("FAILED", "STOPPED"):
                raise ServiceError("InvalidParameterException", "Only an import that FAILED or was STOPPED can be "
                                                                 "retried.")
            self._one_at_a_time()
            if imp.status(self.now) == "STOPPED":
                # A retry resumes where the copy ended: what the stopped run copied is not copied again.
                imp.resumed_from = imp.fraction(self.now)
            else:
                imp.plan, imp.resumed_from = imp.plan.retried(), 0.0
            imp.run_started, imp.stop_requested = self.now, None
            return self._describe(imp, statistics=False)
        destinations, source = params.get("Destinations"), params.get("ImportSource")
        if not destinations or not source:
            raise ServiceError("InvalidParameterException", "Destinations and ImportSource are required.")
        arn = destinations[0]
        if not arn.startswith("arn:") or ":eventdatastore/" not in arn:
            raise ServiceError("EventDataStoreARNInvalidException", "The specified event data store ARN is not valid.")
        if arn not in self.event_data_stores:
            raise ServiceError("EventDataStoreNotFoundException", f"The event data store {arn} was not found.")
        store = self.event_data_stores[arn]
        if store.status in ("CREATED", "PENDING_DELETION"):
            raise ServiceError("InvalidEventDataStoreStatusException",
                               "The event data store is not in a status that supports the operation.")
        if not set(store.categories) & {"Management", "Data", "NetworkActivity"}:
            raise ServiceError("InvalidEventDataStoreCategoryException",
                               "This exception is thrown when event categories of specified event data stores are "
                               "not valid.")
        s3 = source["S3"]
        if not s3["S3LocationUri"].startswith("s3://"):
            raise ServiceError("InvalidImportSourceException", "The S3 location URI is not valid.")
        if s3["S3LocationUri"] in self.rejected_sources:
            raise ServiceError("InvalidImportSourceException", self.rejected_sources[s3["S3LocationUri"]])
        start, end = params.get("StartEventTime"), params.get("EndEventTime")
        if start and end and start >= end:
            raise ServiceError("InvalidParameterException", "StartEventTime must be before EndEventTime.")
        if self.iam is not None:
            check_import_access(self.iam, caller=self._caller, destination=arn, source=s3, start=start,
                                account=self.account, region=self.region)
        self._one_at_a_time()
        imp = SimulatedImport(
            import_id=str(next(self._ids)), destinations=list(destinations), source=dict(s3),
            start_event_time=start, end_event_time=end, created=self.now,
            plan=self._plans.popleft() if self._plans else self.default_plan,
            run_started=self.now, stop_seconds=self.stop_seconds,
        )
        self.imports[imp.import_id] = imp
        return self._describe(imp, statistics=False)

    def _op_ListPublicKeys(self, params: dict[str, Any]) -> dict[str, Any]:
        start, end = params.get("StartTime"), params.get("EndTime")
        keys = [k for k in self.public_keys
                if (end is None or k["ValidityStartTime"] <= end) and (start is None or k["ValidityEndTime"] >= start)]
        return {"PublicKeyList": keys}

    def _op_GetEventDataStore(self, params: dict[str, Any]) -> dict[str, Any]:
        wanted = params["EventDataStore"]
        for arn, store in self.event_data_stores.items():
            if wanted in (arn, arn.rsplit("/", 1)[-1]):
                return store.describe()
        raise ServiceError("EventDataStoreNotFoundException", f"The event data store {wanted} was not found.")

    def _op_GetImport(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._describe(self._find(params["ImportId"]), statistics=True)

    def _op_StopImport(self, params: dict[str, Any]) -> dict[str, Any]:
        imp = self._find(params["ImportId"])
        if imp.status(self.now) in RUNNING and imp.stop_requested is None:
            self._stop(imp)
        return self._describe(imp, statistics=True)

    def _op_ListImports(self, params: dict[str, Any]) -> dict[str, Any]:
        items = [
            {"ImportId": imp.import_id, "ImportStatus": imp.status(self.now), "Destinations": imp.destinations,
             "CreatedTimestamp": imp.created, "UpdatedTimestamp": imp.updated(self.now)}
            for imp in self.imports.values()
            if params.get("Destination") in (None, *imp.destinations)
            and params.get("ImportStatus") in (None, imp.status(self.now))
        ]
        page, token = self._page("ListImports", items, params)
        return {"Imports": page, **token}

    def _op_ListImportFailures(self, params: dict[str, Any]) -> dict[str, Any]:
        imp = self._find(params["ImportId"])
        items = [
            {"Location": f.location, "Status": f.status, "ErrorType": f.error_type, "ErrorMessage": f.message,
             "LastUpdatedTime": imp.updated(self.now)}
            for f in imp.visible_failures(self.now)
        ]
        page, token = self._page("ListImportFailures", items, params)
        return {"Failures": page, **token}

    # --- helpers ----------------------------------------------------------------------
    def _find(self, import_id: str) -> SimulatedImport:
        if import_id not in self.imports:
            raise ServiceError("ImportNotFoundException", f"The import {import_id} was not found.")
        return self.imports[import_id]

    def _one_at_a_time(self) -> None:
        if self.running():
            raise ServiceError("AccountHasOngoingImportException",
                               "This account has an import in progress. Wait for it to finish.")

    def _stop(self, imp: SimulatedImport) -> None:
        imp.stop_requested = self.now
        imp.extra_updates.append(self.now)

    def _describe(self, imp: SimulatedImport, *, statistics: bool) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "ImportId": imp.import_id, "Destinations": imp.destinations, "ImportSource": {"S3": imp.source},
            "ImportStatus": imp.status(self.now), "CreatedTimestamp": imp.created,
            "UpdatedTimestamp": imp.updated(self.now),
        }
        if imp.start_event_time:
            answer["StartEventTime"] = imp.start_event_time
        if imp.end_event_time:
            answer["EndEventTime"] = imp.end_event_time
        if statistics:
            answer["ImportStatistics"] = imp.statistics(self.now)
        return answer

    def _page(self, operation: str, items: list[dict[str, Any]],
              params: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
        asked = params.get("MaxResults")
        lowest, highest = _max_results_range(operation)
        if asked is not None and not lowest <= int(asked) <= highest:
            # botocore checks only the minimum; the service refuses the rest, with the error its model lists.
            raise ServiceError("InvalidParameterException",
                               f"MaxResults must be between {lowest} and {highest}; got {asked}.")
        size = min(int(asked or self.page_size[operation]), self.page_size[operation])
        token = params.get("NextToken")
        start = 0
        if token:
            prefix = f"{operation}:"
            if not token.startswith(prefix) or not token[len(prefix):].isdigit():
                raise ServiceError("InvalidNextTokenException", "The NextToken is not valid.")
            start = int(token[len(prefix):])
        end = start + size
        return items[start:end], ({"NextToken": f"{operation}:{end}"} if end < len(items) else {})


@functools.cache
def _max_results_range(operation: str) -> tuple[int, int]:
    """MaxResults' range for ``operation``, from botocore's CloudTrail model."""
    model = botocore.session.get_session().get_service_model("cloudtrail")
    shape = model.operation_model(operation).input_shape
    assert shape is not None
    member = shape.members["MaxResults"]
    return int(member.metadata["min"]), int(member.metadata["max"])
