#!/usr/bin/env python3
"""What `cdk synth` made, read back from the cloud assembly: each stack's resources, imports and exports.

    python scripts/synth_summary.py [cdk.out]
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

IMPORT_TYPE = "Custom::CloudTrailLakeImport"


def readable(value: Any) -> str:
    """A template value as a person reads it: intrinsic functions written as ``${...}``."""
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, dict) and len(value) == 1:
        (function, argument), = value.items()
        if function == "Ref":
            return f"${{{argument}}}"
        if function == "Fn::GetAtt":
            return f"${{{'.'.join(argument) if isinstance(argument, list) else argument}}}"
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(readable(part) for part in parts)
        if function == "Fn::ImportValue":
            return f"${{import {readable(argument)}}}"
    return json.dumps(value, separators=(",", ":"))


def summarize(assembly: Path) -> list[str]:
    manifest = json.loads((assembly / "manifest.json").read_text())
    lines: list[str] = []
    for name, artifact in manifest["artifacts"].items():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        template = json.loads((assembly / artifact["properties"]["templateFile"]).read_text())
        resources = template.get("Resources", {})
        kinds = Counter(r["Type"] for r in resources.values())
        lines.append(f"{name} ({artifact.get('environment', '')}): {len(resources)} resources")
        lines.append("  " + ", ".join(f"{count} {kind}" for kind, count in kinds.most_common()))
        for logical, resource in resources.items():
            props = resource.get("Properties", {})
            # The custom resource, or a resource of the registered type (whose name users choose).
            if resource["Type"] != IMPORT_TYPE and not {"EventDataStoreArn", "S3LocationUri"} <= set(props):
                continue
            path = resource.get("Metadata", {}).get("aws:cdk:path", logical)
            start, end = (readable(props[key]) if props.get(key) else "any date"
                          for key in ("StartEventTime", "EndEventTime"))
            lines += [
                f"  import {path}",
                f"    destination  {readable(props.get('EventDataStoreArn'))}",
                f"    source       {readable(props.get('S3LocationUri'))} ({readable(props.get('S3BucketRegion'))})",
                f"    window       {start} .. {end}",
            ]
        for output in template.get("Outputs", {}).values():
            export = output.get("Export", {}).get("Name")
            if export:
                lines.append(f"  export {readable(export)} = {readable(output.get('Value'))}")
    return lines


def main() -> None:
    assembly = Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")
    print("\n".join(["", "Synthesized:", *summarize(assembly)]))


if __name__ == "__main__":
    main()
