"""Watch a whole CloudFormation lifecycle of the example app's import, locally, with no AWS account.

Synthesizes app.py, reads the Custom::CloudTrailLakeImport properties from the
template, and plays Create -> wait -> Delete through the CDK Provider
framework's own runtime (framework.js) around the real handler, against the
CloudTrail import simulator.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
os.environ.setdefault("AWS_REGION", "us-east-1")

from cloudtrail_lake_import.testing import CloudTrailImportSimulator, default_session  # noqa: E402
from cloudtrail_lake_import.testing.framework import ProviderFramework  # noqa: E402

STACK = "TrailArchiveImport"


def synthesize() -> dict[str, Any]:
    import aws_cdk as cdk

    import app as example

    outdir = tempfile.mkdtemp(prefix="demo-cdk-out-")
    application = cdk.App(outdir=outdir)
    example.build(application)
    application.synth()
    return dict(json.loads((Path(outdir) / f"{STACK}.template.json").read_text()))


class Resolver:
    """Resolves the intrinsic functions in the resource's properties as a deployed stack would."""

    def __init__(self, sim: CloudTrailImportSimulator, template: dict[str, Any]) -> None:
        self.sim = sim
        self.resources = template["Resources"]
        self.pseudo = {"AWS::Region": sim.region, "AWS::AccountId": sim.account, "AWS::Partition": "aws"}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            (function, argument), = value.items()
            if function == "Ref":
                return self.pseudo.get(argument, argument)
            if function == "Fn::GetAtt":
                return self._attribute(*argument)
            if function == "Fn::Join":
                return str(argument[0]).join(str(self(part)) for part in argument[1])
        if isinstance(value, dict):
            return {key: self(item) for key, item in value.items()}
        return value

    def _attribute(self, logical_id: str, name: str) -> str:
        kind = self.resources[logical_id]["Type"]
        if kind == "AWS::CloudTrail::EventDataStore":
            return self.sim.add_event_data_store(self.resources[logical_id]["Properties"].get("Name", logical_id))
        if kind == "AWS::IAM::Role":
            return f"arn:aws:iam::{self.sim.account}:role/{logical_id}"
        if kind == "AWS::Lambda::Function":
            return f"arn:aws:lambda:{self.sim.region}:{self.sim.account}:function:{logical_id}"
        raise ValueError(f"the demo cannot resolve {logical_id}.{name}")


def main() -> None:
    template = synthesize()
    logical_id, resource = next((k, r) for k, r in template["Resources"].items()
                                if r["Type"] == "Custom::CloudTrailLakeImport")
    sim = CloudTrailImportSimulator()
    props = Resolver(sim, template)(resource["Properties"])
    print(f"Synthesized {STACK}: {logical_id} (Custom::CloudTrailLakeImport)")
    for key, value in props.items():
        print(f"  {key:<22} {value}")
    from trail_import_handler import provider

    def progress(call: int) -> None:
        if call % 4:
            return
        for imp in sim.imports.values():
            stats = imp.statistics(sim.now)
            print(f"  [{call * 30 // 60:>3} min] {imp.status(sim.now):<13} prefixes {stats['PrefixesCompleted']}/"
                  f"{stats['PrefixesFound']}  files {stats['FilesCompleted']}  events {stats['EventsCompleted']}  "
                  f"failed {stats['FailedEntries']}")

    base = {"StackId": f"arn:aws:cloudformation:{sim.region}:{sim.account}:stack/{STACK}/demo",
            "LogicalResourceId": logical_id, "ResourceType": resource["Type"], "ResourceProperties": props}
    with default_session(sim):
        framework = ProviderFramework(provider.on_event, provider.is_complete, advance=sim.advance,
                                      total_timeout=3300, observe=progress)
        print("\nCREATE_IN_PROGRESS")
        created = framework.request({**base, "RequestType": "Create", "RequestId": "demo-create"}).response
        print(f"CREATE {created['Status']}  physical id {created['PhysicalResourceId']}  {created.get('Reason', '')}")
        for key, value in (created.get("Data") or {}).items():
            print(f"  Fn::GetAtt {logical_id}.{key:<18} {value}")
        print("\nDELETE_IN_PROGRESS")
        deleted = framework.request({**base, "RequestType": "Delete", "RequestId": "demo-delete",
                                     "PhysicalResourceId": created["PhysicalResourceId"]}).response
        print(f"DELETE {deleted['Status']}; imported events stay in the event data store.")


if __name__ == "__main__":
    main()
