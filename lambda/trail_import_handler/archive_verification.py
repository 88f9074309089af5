"""ArchiveVerification's steps: plan a window's pieces, verify one piece, roll up one slice, summarize the run.

A piece is one (account, region, day) of the archive. That is small enough for one Lambda invocation whatever the
archive holds, and it is what the Distributed Map fans out. A slice is one (account, region) of the archive: its
pieces are rolled up into one report, and the summary reads those reports. So no step reads more than one slice's
days (2,557 for seven years) or the archive's slices (1,700 for 100 accounts in 17 regions).

Every report goes to the report bucket, under ``verifications/RUN/`` (RUN is the execution's name). The state
machine carries only where they are and a few counts, because Step Functions limits a state's input and output to
256 KiB (Step Functions Developer Guide, "Quotas").

A digest or log file found wrong is a result (a problem in the report), never an error. The errors are:

* ``ArchiveUnavailable``: S3 or CloudTrail stayed throttled or unavailable through botocore's retries. The state
  machine retries it.
* ``VerificationRefused``: the request, the source or the report bucket is wrong, and trying again cannot help.
  Its message says what to change.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from . import clients, reconciliation
from .errors import shorten
from .trail_logs import Lister
from .verification import Archive, PublicKeys, Report, verify
from .verification.digest import parse_name
from .verification.layout import Slice, find_slices
from .verification.report import MEANINGS
from .verification.verify import AFTER_WINDOW

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

SOURCE_ENV = "ARCHIVE_SOURCE"
"""The archive verified: ``s3://bucket[/prefix]``, the prefix above ``AWSLogs/``."""
SOURCE_REGION_ENV = "ARCHIVE_SOURCE_REGION"
REPORTS_ENV = "ARCHIVE_REPORT_BUCKET"
RUNS = "verifications/"
"""Where the runs' reports are in the report bucket."""
SUMMARY_BYTES = 2000
"""The most bytes the summary's first problems take, so that a custom resource's answer stays under 4 KB."""

_RETRIES = Config(retries={"mode": "standard", "max_attempts": 10},
                  user_agent_extra="cdk-cloudtrail-lake-import-verification")
_TRANSIENT = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded",
                        "TooManyRequestsException", "RequestTimeout", "InternalError", "ServiceUnavailable"})
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_WORKERS = 16
T = TypeVar("T")
R = TypeVar("R")


class ArchiveUnavailable(Exception):
    """S3 or CloudTrail stayed throttled or unavailable: the state machine tries the step again."""


class VerificationRefused(Exception):
    """The verification cannot be done as asked; the message says what to change."""


@dataclass(frozen=True)
class Request:
    """What one execution verifies: the window [start, end) and, optionally, some accounts and regions only."""

    start: datetime
    end: datetime
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    @classmethod
    def parse(cls, data: Any) -> Request:
        """The request in an execution's input; ``VerificationRefused`` names the field that is wrong."""
        if not isinstance(data, dict):
            raise VerificationRefused(f"The execution's input must be a JSON object with start and end; got {data!r}")
        unknown = sorted(set(data) - {"start", "end", "accounts", "regions"})
        if unknown:
            raise VerificationRefused(f"The execution's input has unknown fields {unknown}: expected start, end, "
                                      "accounts and regions")
        start, end = _time(data, "start"), _time(data, "end")
        if start >= end:
            raise VerificationRefused(f"start ({data['start']}) must be before end ({data['end']})")
        return cls(start, end, _names(data, "accounts", _ACCOUNT, "12 digits"),
                   _names(data, "regions", _REGION, "a region name such as us-east-1"))

    def as_dict(self) -> dict[str, Any]:
        """The request as the execution's input gives it."""
        return {"start": _iso(self.start), "end": _iso(self.end), "accounts": list(self.accounts),
                "regions": list(self.regions)}


@dataclass(frozen=True)
class Place:
    """The source archive and the report bucket of this function, from its environment."""

    bucket: str
    prefix: str
    region: str
    """The source bucket's region."""
    reports: str
    home: str
    """The function's own region (Lambda's AWS_REGION), the state machine's and the report bucket's."""

    @classmethod
    def from_environment(cls) -> Place:
        """The place the construct configured."""
        source = os.environ[SOURCE_ENV].removeprefix("s3://")
        bucket, _, prefix = source.partition("/")
        region = os.environ[SOURCE_REGION_ENV]
        return cls(bucket, prefix.strip("/"), region, os.environ[REPORTS_ENV], os.environ.get("AWS_REGION", region))

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")

    @property
    def root(self) -> str:
        """The key prefix the accounts are under (``PREFIX/AWSLogs/``)."""
        return (f"{self.prefix}/" if self.prefix else "") + ("" if self.prefix.endswith("AWSLogs") else "AWSLogs/")


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """The state machine's entry: ``event["step"]`` is plan, verify, roll-up or summarize."""
    steps: dict[str, Callable[[Place, dict[str, Any]], dict[str, Any]]] = {
        "plan": plan, "verify": verify_piece, "roll-up": roll_up, "summarize": summarize}
    step = steps.get(str(event.get("step")))
    if step is None:
        raise VerificationRefused(f"step must be one of {', '.join(steps)}; got {event.get('step')!r}")
    place = Place.from_environment()
    try:
        return step(place, event)
    except ClientError as error:
        raise _translated(error, place) from None
    except BotoCoreError as error:
        raise ArchiveUnavailable(f"S3 or CloudTrail could not be reached: {error}") from None


def plan(place: Place, event: dict[str, Any]) -> dict[str, Any]:
    """Find the archive's slices, check that the window has digests, and write the pieces and slices to verify."""
    request, run = Request.parse(event.get("request")), _run(event)
    s3, reports = _s3(place.region), _s3(place.home)
    _check_report_bucket(place, reports)
    slices = find_slices(Lister(s3, place.bucket), place.prefix, accounts=request.accounts, regions=request.regions)
    where = f"{place.uri} (under {place.root}{'[o-ORG/]'}ACCOUNT/CloudTrail-Digest/REGION/)"
    if not slices:
        raise VerificationRefused(f"There are no trail logs or digests in {where}" + _chosen(request) + ": check "
                                  "the source's bucket and prefix.")
    if not any(s.digests for s in slices):
        raise VerificationRefused(
            f"There is no CloudTrail-Digest prefix in {where}: log file validation was never on for the trail, so "
            "no log file can be proven. Turn it on (aws cloudtrail update-trail --enable-log-file-validation); logs "
            "delivered before then stay unproven.")
    with_digests = _map(lambda s: _has_digests(s3, place.bucket, s, request), [s for s in slices if s.digests])
    if not any(with_digests):
        raise VerificationRefused(
            f"No digest in {where} covers {_iso(request.start)} to {_iso(request.end)}: log file validation was off "
            "then, or the window lies outside the trail's logs. Choose a window the digests cover.")
    regions = sorted({s.region for s in slices})
    # Clients made here, not in the threads: a registry handler's session is the calling thread's (clients.using).
    cloudtrail = {r: clients.client("cloudtrail", region_name=r, config=_RETRIES) for r in regions}
    fetched = _map(lambda r: PublicKeys.fetch(cloudtrail[r], request.start, request.end), regions)
    for region, keys in zip(regions, fetched, strict=True):
        _put(reports, place.reports, f"{_prefix(run)}keys/{region}.json", keys.record())
    pieces = [{"slice": _slice_name(place, s), "account": s.account, "region": s.region,
               "logs": s.logs is not None, "digests": s.digests is not None, "start": _iso(start), "end": _iso(end)}
              for s in slices for start, end in _days(request.start, request.end)]
    names = [{"slice": _slice_name(place, s), "account": s.account, "region": s.region} for s in slices]
    pieces_key, slices_key = f"{_prefix(run)}plan/pieces.json", f"{_prefix(run)}plan/slices.json"
    _put(reports, place.reports, pieces_key, pieces)
    _put(reports, place.reports, slices_key, names)
    logger.info("planned %d pieces of %d slices for %s", len(pieces), len(slices), place.uri)
    return {"run": run, "window": request.as_dict(), "pieces": {"Bucket": place.reports, "Key": pieces_key},
            "slices": {"Bucket": place.reports, "Key": slices_key}, "pieceCount": len(pieces),
            "sliceCount": len(slices)}


def verify_piece(place: Place, event: dict[str, Any]) -> dict[str, Any]:
    """Verify one (account, region, day); its whole report goes to the report bucket."""
    piece, run, request = event["piece"], _run(event), Request.parse(event.get("request"))
    s3, reports = _s3(place.region), _s3(place.home)
    keys = PublicKeys.from_record(_get(reports, place.reports, f"{_prefix(run)}keys/{piece['region']}.json"))
    where = Slice(piece["account"], piece["region"],
                  f"{place.root}{piece['slice']}/CloudTrail/{piece['region']}/" if piece["logs"] else None,
                  f"{place.root}{piece['slice']}/CloudTrail-Digest/{piece['region']}/" if piece["digests"] else None)
    archive = Archive(place.bucket, place.prefix, request.start, request.end)
    report = verify(s3, lambda region: keys, archive, slices=[where], workers=_WORKERS,
                    part=(_parse_time(piece["start"]), _parse_time(piece["end"])))
    _put(reports, place.reports, f"{_prefix(run)}pieces/{piece['slice']}/{piece['region']}/{piece['start'][:10]}.json",
         report.record())
    return {"problems": len(report.problems)}


def roll_up(place: Place, event: dict[str, Any]) -> dict[str, Any]:
    """One slice's pieces into one report."""
    item, run = event["slice"], _run(event)
    s3 = _s3(place.home)
    report = _combined(s3, place.reports, f"{_prefix(run)}pieces/{item['slice']}/{item['region']}/")
    _put(s3, place.reports, f"{_prefix(run)}slices/{item['slice']}/{item['region']}.json", report.record())
    return {"problems": len(report.problems)}


def summarize(place: Place, event: dict[str, Any]) -> dict[str, Any]:
    """The run's report, from its slices' reports; what a caller needs of it, within ``SUMMARY_BYTES``."""
    run, request = _run(event), Request.parse(event.get("request"))
    s3 = _s3(place.home)
    report = _combined(s3, place.reports, f"{_prefix(run)}slices/")
    key = f"{_prefix(run)}report.json"
    _put(s3, place.reports, key, {"run": run, "request": request.as_dict(), "report": report.as_dict(),
                                  "record": report.record()})
    digests, logs = report.total("digests"), report.total("log_files")
    counts = {"intact": report.intact, "source": place.uri, "digestsVerified": digests.valid,
              "logFilesVerified": logs.valid, "eventsInWindow": report.events_in_window,
              "problems": len(report.problems), "reportUri": f"s3://{place.reports}/{key}"}
    window = reconciliation.window_key(place.uri, request.start, request.end)
    if window is not None and not request.accounts and not request.regions:
        # The whole window's counts, where ImportMonitor finds them by the import's source and window.
        _put(s3, place.reports, window, {**counts, "window": request.as_dict(), "run": run})
    return {**counts, "window": request.as_dict(), "notices": len(report.notices),
            "firstProblems": first_problems(report)}


def first_problems(report: Report, budget: int = SUMMARY_BYTES) -> list[str]:
    """The report's problems in its order, each ``where: sentence``, as many as fit in ``budget`` bytes."""
    shown: list[str] = []
    used = 0
    for found in sorted(report.problems, key=lambda f: (f.account, f.region, f.key or "", f.kind)):
        where = found.key or f"{found.account} {found.region}"
        line = shorten(f"{where}: {MEANINGS[found.kind].format(detail=found.detail)}", 400)
        size = len(line.encode()) + 4  # the quotes and separator it takes in JSON
        if used + size > budget:
            break
        shown.append(line)
        used += size
    return shown


def _has_digests(s3: Any, bucket: str, where: Slice, request: Request) -> bool:
    """Whether the slice has a digest of the window: one listing page from the day before the window's first."""
    assert where.digests is not None
    first = request.start - timedelta(days=1)
    page = s3.list_objects_v2(Bucket=bucket, Prefix=where.digests, StartAfter=f"{where.digests}{first:%Y/%m/%d}/",
                              MaxKeys=1000)
    names = [name for item in page.get("Contents", []) if (name := parse_name(item["Key"])) is not None]
    if any(request.start < name.end <= request.end + AFTER_WINDOW for name in names):
        return True
    # A full page of digests that all end before the window's start: the window's may come after it.
    return bool(page.get("IsTruncated")) and bool(names) and max(n.end for n in names) <= request.start


def _combined(s3: Any, bucket: str, prefix: str) -> Report:
    keys = [item["Key"] for item in Lister(s3, bucket).objects(prefix) if item["Key"].endswith(".json")]
    if not keys:
        raise VerificationRefused(f"No report is under s3://{bucket}/{prefix}: the verification's earlier steps did "
                                  "not write them. Start the verification again.")
    return Report.combined(Report.from_record(r) for r in _map(lambda k: _get(s3, bucket, k), keys))


def _check_report_bucket(place: Place, reports: Any) -> None:
    """The report bucket must be in the state machine's region: the Distributed Map reads its pieces from there."""
    try:
        answer = reports.head_bucket(Bucket=place.reports)
    except ClientError as error:
        if _status(error) == 301:
            answer = error.response
        else:
            raise
    headers = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    region = answer.get("BucketRegion") or headers.get("x-amz-bucket-region")
    if region and region != place.home:
        raise VerificationRefused(f"The report bucket {place.reports} is in {region}, not in {place.home} with the "
                                  "verification: give ArchiveVerification a report bucket of its own region.")


def _translated(error: ClientError, place: Place) -> Exception:
    code = str(error.response.get("Error", {}).get("Code", ""))
    message = str(error.response.get("Error", {}).get("Message", "")).strip()
    operation = getattr(error, "operation_name", "a request")
    if _status(error) >= 500 or code in _TRANSIENT:
        return ArchiveUnavailable(f"{operation} failed with {code} after retries: {message}")
    if code == "NoSuchBucket":
        # S3 names the bucket in BucketName, which its error reference does not promise (ErrorResponses.html
        # lists Code, Message, Resource and RequestId): without it, both buckets the call may have meant.
        bucket = error.response.get("Error", {}).get("BucketName") or f"{place.bucket} or {place.reports}"
        return VerificationRefused(f"Bucket {bucket} does not exist ({operation}): check the source and the "
                                   "report bucket.")
    if code in ("AccessDenied", "AccessDeniedException"):
        return VerificationRefused(f"{operation} was denied ({message}): the verifier's role, or the bucket or key "
                                   f"policy of {place.uri} or s3://{place.reports}, must allow it.")
    return VerificationRefused(f"{operation} failed with {code}: {message}")


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))


def _s3(region: str) -> Any:
    return clients.client("s3", region_name=region, config=_RETRIES)


def _get(s3: Any, bucket: str, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _put(s3: Any, bucket: str, key: str, data: Any) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(data, separators=(",", ":")).encode(),
                  ContentType="application/json")


def _prefix(run: str) -> str:
    return f"{RUNS}{run}/"


def _run(event: dict[str, Any]) -> str:
    run = str(event.get("run", ""))
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,80}", run):
        raise VerificationRefused(f"run must be the execution's name (letters, digits, - and _); got {run!r}")
    return run


def _slice_name(place: Place, where: Slice) -> str:
    """The slice's folder under the root: the account, or ``o-ORG/ACCOUNT`` for an organization trail."""
    prefix = where.digests or where.logs or ""
    return prefix.removeprefix(place.root).split("/CloudTrail", 1)[0]


def _days(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at each midnight, UTC."""
    edges = [start]
    midnight = datetime(start.year, start.month, start.day, tzinfo=UTC) + timedelta(days=1)
    while midnight < end:
        edges.append(midnight)
        midnight += timedelta(days=1)
    edges.append(end)
    return list(itertools.pairwise(edges))


def _chosen(request: Request) -> str:
    chosen = [f"accounts {', '.join(request.accounts)}"] if request.accounts else []
    chosen += [f"regions {', '.join(request.regions)}"] if request.regions else []
    return f" for {' and '.join(chosen)}" if chosen else ""


def _time(data: dict[str, Any], name: str) -> datetime:
    value = data.get(name)
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise VerificationRefused(f"{name} must be a UTC time such as 2024-01-01T00:00:00Z; got {value!r}")
    try:
        return _parse_time(value)
    except ValueError:
        raise VerificationRefused(f"{name} is not a real time: {value}") from None


def _names(data: dict[str, Any], name: str, pattern: re.Pattern[str], form: str) -> tuple[str, ...]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and pattern.fullmatch(v) for v in value):
        raise VerificationRefused(f"{name} must be a list, each {form}; got {value!r}")
    return tuple(value)


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _map(work: Callable[[T], R], items: Iterable[T]) -> list[R]:
    listed = list(items)
    if len(listed) <= 1:
        return [work(i) for i in listed]
    with ThreadPoolExecutor(max_workers=min(_WORKERS, len(listed))) as pool:
        return list(pool.map(work, listed))
