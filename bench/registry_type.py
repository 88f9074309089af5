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


def measure() -> dict[str, Any]:
    results: dict[str, Any] = {"package": package(), "waiting": {}}
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
