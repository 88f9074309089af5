"""Checks of the destination event data store that the CloudTrail User Guide documents.

From "Copying trail events to CloudTrail Lake": copies go into an event data
store "configured for CloudTrail events"; "CloudTrail only copies trail events
that are within the event data store's retention period"; only the
organization's management account can copy into an organization event data
store; and a window that overlaps what the store also ingests live duplicates
those events ("choose a time range ... earlier than the creation of the event
data store"). What would stop the import or copy nothing blocks it; what
would copy less, or copy twice, is a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from . import clients
from .preflight import Problem
from .properties import ImportWindow
from .trail_logs import TrailLogFile

# Event categories of CloudTrail events (advanced event selectors, field eventCategory); stores of
# other categories (ConfigurationItem, ActivityAuditLog, Insight) do not take copies of trail events.
CLOUDTRAIL_CATEGORIES = frozenset({"Management", "Data", "NetworkActivity"})
# Statuses in which a store takes copies: with ingestion on, off, or on its way between the two.
_TAKES_COPIES = frozenset({"ENABLED", "STARTING_INGESTION", "STOPPING_INGESTION", "STOPPED_INGESTION"})
_INGESTING = frozenset({"ENABLED", "STARTING_INGESTION"})
_DENIED = ("AccessDenied", "AccessDeniedException")


@dataclass(frozen=True)
class Store:
    """What GetEventDataStore says about the destination."""

    arn: str
    status: str
    organization: bool
    retention_days: int | None
    """None when the answer gives no retention period: nothing is judged against it then."""
    categories: frozenset[str]
    created: datetime | None

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    def retention_cutoff(self, now: datetime) -> datetime | None:
        """Events logged before this are outside the retention period: CloudTrail does not copy them."""
        return now - timedelta(days=self.retention_days) if self.retention_days else None


def organizations_client() -> Any:
    """An Organizations client. The service is global in each partition: from the function's own region, botocore
    reaches that partition's endpoint (us-east-1 for aws, cn-northwest-1 for aws-cn); naming us-east-1 would send a
    China or GovCloud handler's credentials to the aws partition."""
    return clients.client("organizations")


def check_destination(ct: Any, arn: str, window: ImportWindow, now: datetime, *,
                      organizations: Callable[[], Any] = organizations_client,
                      files: Iterable[TrailLogFile] | None = None) -> list[Problem]:
    """Every documented problem of importing ``window`` into the store ``arn``, blocking or not.

    ``organizations`` makes the Organizations client, only for an organization store. With the window's
    ``files`` (the full preflight), the retention check counts the files it leaves out.
    """
    store, problems = describe(ct, arn)
    if store is None:
        return problems
    problems += store_problems(store, window, now, files)
    if store.organization:
        problems += _management_account(organizations(), store)
    return problems


def describe(ct: Any, arn: str) -> tuple[Store | None, list[Problem]]:
    """The store, or the problem of reading it."""
    try:
        answer = ct.get_event_data_store(EventDataStore=arn)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code == "EventDataStoreNotFoundException":
            return None, [Problem(True, f"Event data store {arn} does not exist in this account and region: "
                                        "check EventDataStoreArn.")]
        if code in _DENIED:
            return None, [Problem(False, f"Access denied reading event data store {arn} "
                                         "(cloudtrail:GetEventDataStore); its checks were skipped.", denied=True)]
        raise
    categories = {value for selector in answer.get("AdvancedEventSelectors", [])
                  for field in selector.get("FieldSelectors", []) if field.get("Field") == "eventCategory"
                  for value in field.get("Equals", [])}
    return Store(
        arn=arn, status=str(answer.get("Status", "")), organization=bool(answer.get("OrganizationEnabled")),
        retention_days=int(answer["RetentionPeriod"]) if answer.get("RetentionPeriod") else None,
        categories=frozenset(categories or {"Management"}),
        created=answer.get("CreatedTimestamp"),
    ), []


def store_problems(store: Store, window: ImportWindow, now: datetime,
                   files: Iterable[TrailLogFile] | None = None) -> list[Problem]:
    """Status, event category, retention and live ingestion, judged from the store (and the window's files)."""
    problems = []
    if store.status not in _TAKES_COPIES:
        problems.append(Problem(True, f"Event data store {store.arn} is {store.status}, not ENABLED: it takes no "
                                      "copies. Wait until it is ENABLED, or choose another EventDataStoreArn."))
    others = sorted(store.categories - CLOUDTRAIL_CATEGORIES)
    if others:
        problems.append(Problem(True, f"Event data store {store.arn} holds {', '.join(others)} events, not "
                                      "CloudTrail events: choose an event data store for CloudTrail events."))
    problems += _retention_problems(store, window, now, files)
    # The guide's advice is a window "earlier than the creation": one that ends at the very instant overlaps it.
    if store.status in _INGESTING and store.created is not None and (window.end is None or window.end >= store.created):
        problems.append(Problem(False, f"Event data store {store.arn} also ingests events live since "
                                       f"{store.created.isoformat()}: events of the window after that would be in "
                                       "it twice. End the window before the store's creation, or stop its "
                                       "ingestion."))
    return problems


def _retention_problems(store: Store, window: ImportWindow, now: datetime,
                        files: Iterable[TrailLogFile] | None) -> list[Problem]:
    """What the retention period leaves out: judged by the window, or counted in its files when known."""
    cutoff = store.retention_cutoff(now)
    if cutoff is None:
        return []
    if files is not None:
        old = outside_retention(files, store, now)
        return [old] if old else []
    if window.end is not None and window.end <= cutoff:
        return [Problem(True, f"Nothing would be copied: the window ends {window.end.isoformat()}, before the "
                              f"store's {store.retention_days}-day retention period begins ({cutoff.isoformat()}). "
                              "Move the window, or raise the store's retention.")]
    if window.start is None or window.start < cutoff:
        return [Problem(False, f"Events logged before {cutoff.isoformat()} are outside the store's "
                               f"{store.retention_days}-day retention period and will not be copied.")]
    return []


def outside_retention(files: Iterable[TrailLogFile], store: Store, now: datetime) -> Problem | None:
    """How many of the window's files are older than the retention period (the preflight report's warning)."""
    files = list(files)
    cutoff = store.retention_cutoff(now)
    if cutoff is None:
        return None
    old = sum(1 for f in files if f.logged_at < cutoff)
    if not files or not old:
        return None
    share = old / len(files)
    return Problem(share == 1.0, f"{old:,} of {len(files):,} log files ({share:.0%}) were logged before "
                                 f"{cutoff.isoformat()}, outside the store's {store.retention_days}-day retention "
                                 "period: their events will not be copied.")


def _management_account(organizations: Any, store: Store) -> list[Problem]:
    try:
        organization = organizations.describe_organization()["Organization"]
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in _DENIED:
            return [Problem(False, "Access denied calling organizations:DescribeOrganization; whether this is the "
                                   "management account was not checked.", denied=True)]
        if code == "AWSOrganizationsNotInUseException":
            return []
        raise
    management = str(organization.get("MasterAccountId", ""))
    if management and management != store.account:
        return [Problem(True, f"Event data store {store.arn} is an organization event data store: only the "
                              f"management account ({management}) can copy trail events into it, not "
                              f"{store.account} (a delegated administrator cannot either). Deploy the import in "
                              "the management account.")]
    return []
