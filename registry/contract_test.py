"""Run AWS's resource contract tests (``cfn test``) against the type's handlers, offline.

``cfn test`` sends each handler request to ``--endpoint`` through the Lambda
Invoke API. Here that endpoint is a local HTTP server in this process that
gives the full HandlerRequest to ``trail_import_handler.registry.resource``,
the function the registered type runs. Behind the handlers: the CloudTrail
import simulator for CloudTrail, moto for SSM (the ownership records), and the
IAM model, which authorizes every call as the execution role that
ResourceTypeRegistration synthesizes. moto also answers the STS calls
``cfn test`` makes for its credentials and account, which it sends to a
hard-coded ``sts.<region>.amazonaws.com``.

The inputs (``registry/inputs``) name their resources by CloudFormation
exports, as in the publisher's account where the prerequisites stack
(``registry/contract-prerequisites.yaml``) exports them; here the exports are
the simulator's resources (``offline-exports.json``), handed to ``cfn test``
in place of its ListExports call.

Usage: ``python registry/contract_test.py [--busy MINUTES] [--break read-after-delete|create-without-id|
waiting-without-id] [-- pytest args]``. ``--busy`` has another import hold the account for the first
MINUTES (one invocation is a minute). ``--break`` swaps in a deliberately wrong handler, to show that the
suite catches it.
Exit status: that of ``cfn test`` (0 when every test passed or was skipped).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT.parent), str(ROOT.parent / "constructs"), str(ROOT.parent / "lambda")]
for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                    # cfn test sleeps for real between callbacks: a second, while the simulator's clock moves a minute.
                    "TRAIL_IMPORT_CALLBACK_SECONDS": "1"}.items():
    os.environ[name] = value

import boto3  # noqa: E402
import botocore.endpoint  # noqa: E402
from cloudformation_cli_python_lib import resource as support_resource  # noqa: E402
from cloudformation_cli_python_lib.boto3_proxy import SessionProxy  # noqa: E402
from cloudformation_cli_python_lib.interface import OperationStatus, ProgressEvent  # noqa: E402
from moto import mock_aws  # noqa: E402

from cloudtrail_lake_import.testing import (  # noqa: E402
    CloudTrailImportSimulator,
    ImportPlan,
    SimulatedTime,
    default_session,
)
from cloudtrail_lake_import.testing._loopback import serving  # noqa: E402
from tests.handler_roles import synthesize  # noqa: E402
from trail_import_handler import clock, cloudtrail, registry  # noqa: E402

MINUTE = 60.0
# What the prerequisites stack exports in a real account, as the simulator's resources.
EXPORTS: dict[str, str] = json.loads((ROOT / "offline-exports.json").read_text())


class _Invocations(BaseHTTPRequestHandler):
    """POST /2015-03-31/functions/<name>/invocations: the handler's answer to the HandlerRequest in the body."""

    simulator: CloudTrailImportSimulator

    def do_POST(self) -> None:
        if not (self.path.startswith("/2015-03-31/functions/") and self.path.endswith("/invocations")):
            self.send_error(404)
            return
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        # Each invocation is a minute later for the import: production checks every minute or more.
        self.simulator.advance(MINUTE)
        answer = json.dumps(registry.resource(request, None)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def _endpoint(simulator: CloudTrailImportSimulator) -> Iterator[str]:
    with serving(type("Invocations", (_Invocations,), {"simulator": simulator})) as url:
        yield url


def _break(how: str | None) -> None:
    """Swap in a deliberately wrong handler."""
    if how == "read-after-delete":
        def read_ignoring_records(ct: Any, owned: Any, request: Any) -> ProgressEvent:
            resource_id = str(registry._properties(request.desiredResourceState).get("Id") or "")
            listed = ct.list_imports(MaxResults=100).get("Imports", [])
            imports = [i for i in listed if i["ImportStatus"] == "COMPLETED"]
            state = cloudtrail.get_import(ct, imports[-1]["ImportId"]) if imports else None
            if state is None:
                return registry._not_found(resource_id)
            model = registry.ImportModel({"Id": resource_id, **registry._model_of(state, {})})
            return ProgressEvent(status=OperationStatus.SUCCESS, resourceModel=model)
        setattr(registry, "_read", read_ignoring_records)  # noqa: B010
    elif how == "create-without-id":
        wait = registry._wait

        def wait_forgetting_the_id(*args: Any) -> ProgressEvent:
            event = wait(*args)
            if isinstance(event.resourceModel, registry.ImportModel):
                event.resourceModel.properties.pop("Id", None)
            return event
        setattr(registry, "_wait", wait_forgetting_the_id)  # noqa: B010
    elif how == "waiting-without-id":
        wait = registry._wait

        def wait_naming_only_the_import(*args: Any) -> ProgressEvent:
            # The type's first design: a resource known by its ImportId alone, which a waiting Create lacks.
            event = wait(*args)
            model = event.resourceModel
            if isinstance(model, registry.ImportModel) and "ImportId" not in model.properties:
                model.properties.pop("Id", None)
            return event
        setattr(registry, "_wait", wait_naming_only_the_import)  # noqa: B010


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--break", dest="broken",
                        choices=["read-after-delete", "create-without-id", "waiting-without-id"])
    parser.add_argument("--busy", type=int, default=0, metavar="MINUTES",
                        help="another import holds the account for the first MINUTES")
    args, pytest_args = parser.parse_known_args(argv)
    pytest_args = [a for a in pytest_args if a != "--"]
    _break(args.broken)

    roles = synthesize()
    simulator = CloudTrailImportSimulator()
    simulator.iam = roles.world()
    simulator.add_event_data_store(EXPORTS["CloudTrailLakeImportContract-EventDataStoreArn"])
    simulator.default_plan = ImportPlan(duration=timedelta(minutes=3), initializing=timedelta(minutes=1))
    if args.busy:
        simulator.hold_account(timedelta(minutes=args.busy))
    setattr(botocore.endpoint, "time", SimulatedTime(simulator))  # noqa: B010
    setattr(clock, "now", lambda: simulator.now)  # noqa: B010 - the simulator's clock stands for the handler's

    # cfn test calls Lambda at our endpoint (passed through), STS at AWS (answered by moto).
    moto_config: Any = {"core": {"passthrough": {"services": ["cloudtrail", "lambda"]}}}
    with mock_aws(config=moto_config), default_session(simulator, roles.registry_role) as session:
        # The execution role's credentials, as CloudFormation hands them: the simulator's session here.
        setattr(support_resource, "_get_boto_session",  # noqa: B010
                lambda credentials, region=None: SessionProxy(session) if credentials else None)
        with _endpoint(simulator) as url:
            from rpdk.core import test as cfn_test  # type: ignore[import-untyped]
            from rpdk.core.cli import main as cfn  # type: ignore[import-untyped]

            setattr(cfn_test, "get_cloudformation_exports", lambda *args, **kwargs: dict(EXPORTS))  # noqa: B010

            os.chdir(ROOT)
            try:
                cfn(["test", "--endpoint", url, "--region", "us-east-1", "--enforce-timeout", "60",
                     "--", "-rfEs", "-p", "no:cacheprovider", *pytest_args])
            except SystemExit as exit_:
                return int(exit_.code or 0)
    return 0


if __name__ == "__main__":
    boto3.setup_default_session()
    sys.exit(main(sys.argv[1:]))
