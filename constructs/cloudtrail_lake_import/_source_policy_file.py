"""The statements the owner of a source outside the app must add, written once per bucket into the cloud
assembly (``cdk.out``), where a synth's annotations only name the file.

Every access role of the app that reads the bucket adds its statements to the same file. Statements that differ
only in the role they let in become one statement naming every role (``aws:PrincipalArn`` takes a list), and the
rest keep distinct Sids: "Each statement in a policy must have a unique statement ID (sid)" (Amazon S3 Developer
Guide, "Special Information for Amazon S3 Policies"); key policy statements are given distinct ones the same way.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from aws_cdk import Stage, Token
from constructs import IConstruct

# Per cloud assembly directory and file, what has been collected: one app may synthesize into several.
_COLLECTED: dict[tuple[str, str], dict[str, Any]] = {}


def record(scope: IConstruct, bucket_name: str, bucket_statements: list[dict[str, Any]],
           key_arn: str | None = None, key_statements: list[dict[str, Any]] | None = None) -> str:
    """Add the statements of one access role for ``bucket_name`` (and its key) to the bucket's file; its name,
    relative to the cloud assembly directory."""
    stage = Stage.of(scope)
    outdir = stage.outdir if stage is not None else "."
    label = bucket_name if not Token.is_unresolved(bucket_name) else scope.node.addr
    name = "source-policy." + re.sub(r"[^A-Za-z0-9.-]", "-", label) + ".json"
    entry = _COLLECTED.setdefault((outdir, name), {"bucket": label, "bucketPolicyStatements": [],
                                                   "keyPolicyStatements": {}})
    entry["bucketPolicyStatements"] = merged(entry["bucketPolicyStatements"] + bucket_statements)
    if key_arn is not None and key_statements:
        keys = entry["keyPolicyStatements"]
        keys[key_arn] = merged(keys.get(key_arn, []) + key_statements)
    Path(outdir).mkdir(parents=True, exist_ok=True)
    (Path(outdir) / name).write_text(json.dumps(entry, indent=2) + "\n")
    return name


def merged(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``statements`` with those that differ only in ``aws:PrincipalArn`` joined, and every Sid made unique."""
    groups: dict[str, dict[str, Any]] = {}
    roles: dict[str, list[Any]] = {}
    for statement in statements:
        shape = copy.deepcopy(statement)
        arns = shape.get("Condition", {}).get("ArnEquals", {}).pop("aws:PrincipalArn", None)
        shape.pop("Sid", None)
        key = json.dumps(shape, sort_keys=True)
        groups.setdefault(key, copy.deepcopy(statement))
        for arn in arns if isinstance(arns, list) else [arns] if arns is not None else []:
            if arn not in roles.setdefault(key, []):
                roles[key].append(arn)
    result = []
    taken: dict[str, int] = {}
    for key, statement in groups.items():
        if roles.get(key):
            named = sorted(roles[key], key=str)
            statement["Condition"]["ArnEquals"]["aws:PrincipalArn"] = named[0] if len(named) == 1 else named
        sid = str(statement.get("Sid", "Statement"))
        taken[sid] = taken.get(sid, 0) + 1
        if taken[sid] > 1:
            statement["Sid"] = f"{sid}{taken[sid]}"
        result.append(statement)
    return result
