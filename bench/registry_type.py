"""The registry resource type: its handler package's size, and what its long wait costs.

Package: ResourceProvider.zip as ResourceTypeRegistration builds it (the
modules the handlers import) against the CloudFormation CLI Python plugin's
way, which pip-installs the support library with all its dependencies
(boto3 and botocore included) and zips the lot: measured here by doing just that.

Waiting: imports of 1, 10 and 30 hours played through the type's create
handler on the simulator's clock, with its cadence (every minute, then a
tenth of the time waited, at most every five minutes) against a fixed check
every minute: invocations and GetImport calls, and how long the stack waits
after the import has finished (mean over end times spread across five minutes).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "constructs"), str(ROOT / "lambda"), str(ROOT)]
for _name, _value in (("AWS_REGION", "us-east-1"), ("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench")):
    os.environ.setdefault(_name, _value)

HOURS = (1, 10, 30)
PHASES = tuple(i * 37.5 for i in range(8))  # end times spread across five minutes


def package() -> dict[str, int]:
    from cloudtrail_lake_import import _type_package

    ours = len(_type_package.handler_zip())
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--target", folder, "cloudformation-cli-python-lib==2.1.20"], check=True,
                       capture_output=True, timeout=900)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(Path(folder).rglob("*")):
                if path.is_file() and path.suffix != ".pyc":
                    archive.write(path, path.relative_to(folder).as_posix())
        # The plugin also adds the handler package itself: ours, without the support library.
        handler = sum(len(f.read_bytes()) for f in (ROOT / "lambda" / "trail_import_handler").glob("*.py"))
        plugin = len(buffer.getvalue())
    return {"ours_zip_bytes": ours, "plugin_zip_bytes_without_handler": plugin,
            "handler_source_bytes": handler, "files_ours": len(_type_package.handler_files())}


def waiting(hours: float, fixed_seconds: int | None) -> dict[str, float]:
    from cloudformation_cli_python_lib import resource as support_resource
    from cloudformation_cli_python_lib.boto3_proxy import SessionProxy
    from moto import mock_aws

    from cloudtrail_lake_import.testing import MOTO_CONFIG, CloudTrailImportSimulator, ImportPlan, default_session
    from tests.registry_driver import RegistryDriver
    from trail_import_handler import clock, registry

    sim = CloudTrailImportSimulator()
    store = sim.add_event_data_store("trail-archive")
    sim.default_plan = ImportPlan(duration=timedelta(hours=hours), initializing=timedelta(minutes=1))
    setattr(clock, "now", lambda: sim.now)  # noqa: B010 - the simulator's clock stands for the handler's
    if fixed_seconds:
        os.environ[registry.CALLBACK_SECONDS_ENV] = str(fixed_seconds)
    else:
        os.environ.pop(registry.CALLBACK_SECONDS_ENV, None)
    with mock_aws(config=MOTO_CONFIG), default_session(sim) as session:
        # The execution role's credentials, as CloudFormation hands them: the simulator's session here.
        setattr(support_resource, "_get_boto_session",  # noqa: B010
                lambda credentials, region=None: SessionProxy(session) if credentials else None)
        started = sim.now
        answer = RegistryDriver(sim).create({
            "EventDataStoreArn": store, "S3LocationUri": "s3://trail-logs/org-trail", "S3BucketRegion": "us-east-1",
            "S3BucketAccessRoleArn": "arn:aws:iam::111122223333:role/TrailImportAccess", "Preflight": False})
        assert answer.status == "SUCCESS", answer.message
    (imp,) = sim.imports.values()
    finished = imp.run_started + imp.plan.duration
    return {"invocations": answer.calls, "get_import_calls": len(sim.calls("GetImport")),
            "wait_after_import_seconds": (sim.now - finished).total_seconds(),
            "resource_hours": (sim.now - started).total_seconds() / 3600}


PAST_IMPORTS = (100, 500, 2000)


def adoption_search(past: int, bounded: bool) -> dict[str, Any]:
    """A Create among ``past`` imports of its destination, GetImport throttled to one a second; the stopped copy
    of its window (at four fifths of the listing) must be found and resumed. Bounded: the type's search budget;
    unbounded: the whole search in the first invocation, as before the budget."""
    from datetime import UTC, datetime

    import botocore.endpoint
    from cloudformation_cli_python_lib import resource as support_resource
    from cloudformation_cli_python_lib.boto3_proxy import SessionProxy
    from moto import mock_aws

    from cloudtrail_lake_import.testing import MOTO_CONFIG, CloudTrailImportSimulator, SimulatedTime, default_session
    from tests.registry_driver import RegistryDriver
    from trail_import_handler import clock, registry

    sim = CloudTrailImportSimulator()
    store = sim.add_event_data_store("trail-archive")
    source = {"S3LocationUri": "s3://trail-logs/org-trail", "S3BucketRegion": "us-east-1",
              "S3BucketAccessRoleArn": "arn:aws:iam::111122223333:role/TrailImportAccess"}
    day = timedelta(days=1)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(past):
        status = "STOPPED" if n == past * 4 // 5 else "COMPLETED"
        window = (start, start + 182 * day) if status == "STOPPED" else (start - (n + 1) * day, start - n * day)
        sim.add_past_import(store, source, start=window[0], end=window[1], status=status)
    sim.throttle("GetImport", per_second=1.0)
    budget, saved_time = registry.SEARCH_BUDGET, getattr(botocore.endpoint, "time")  # noqa: B009
    registry.SEARCH_BUDGET = budget if bounded else timedelta(days=1)
    setattr(clock, "now", lambda: sim.now)  # noqa: B010 - the simulator's clock stands for the handler's
    setattr(botocore.endpoint, "time", SimulatedTime(sim))  # noqa: B010 - retries wait on the simulator's clock
    os.environ[registry.CALLBACK_SECONDS_ENV] = "60"
    try:
        with mock_aws(config=MOTO_CONFIG), default_session(sim) as session:
            setattr(support_resource, "_get_boto_session",  # noqa: B010
                    lambda credentials, region=None: SessionProxy(session) if credentials else None)
            driver = RegistryDriver(sim)
            began = sim.now
            answer = driver.create({**source, "EventDataStoreArn": store, "StartEventTime": "2024-01-01T00:00:00Z",
                                    "EndEventTime": "2024-07-01T00:00:00Z", "Preflight": False})
    finally:
        registry.SEARCH_BUDGET = budget
        setattr(botocore.endpoint, "time", saved_time)  # noqa: B010
        os.environ.pop(registry.CALLBACK_SECONDS_ENV, None)
    resumed = [c.params.get("ImportId") for c in sim.calls("StartImport")]
    searching = sum(1 for p in answer.progress if "ImportId" not in p)
    return {"status": answer.status, "resumed_the_stopped_copy": len(resumed) == 1 and resumed[0] is not None,
            "search_invocations": searching + 1, "longest_invocation_seconds": max(driver.invocation_seconds),
            "get_import_requests": sum(1 for r in sim.requests if r.operation == "GetImport"),
            "create_minutes": round((sim.now - began).total_seconds() / 60, 1)}


def measure() -> dict[str, Any]:
    results: dict[str, Any] = {"package": package(), "waiting": {}, "adoption_search": {}}
    for past in PAST_IMPORTS:
        results["adoption_search"][str(past)] = {
            "bounded": adoption_search(past, bounded=True), "unbounded": adoption_search(past, bounded=False)}
    for hours in HOURS:
        row = {}
        for name, fixed in (("ours", None), ("every_minute", 60)):
            runs = [waiting(hours + phase / 3600, fixed) for phase in PHASES]
            row[name] = {key: round(sum(r[key] for r in runs) / len(runs), 1) for key in runs[0]}
        results["waiting"][str(hours)] = row
    os.environ.pop("TRAIL_IMPORT_CALLBACK_SECONDS", None)
    return results


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
