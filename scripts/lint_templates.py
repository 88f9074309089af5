"""cfn-lint over CloudFormation templates that use the registry resource type: ``make lint-templates``.

    python scripts/lint_templates.py [TEMPLATE ...]   # default: examples/*.yaml

cfn-lint knows a registry type only from its schema, given with ``--registry-schemas FOLDER``, and it reads every
.json file of that folder as a schema: ``registry/`` also holds the contract tests' inputs, which it cannot read.
So the type's schema is copied into a folder of its own first. Extra cfn-lint arguments follow ``--``.

With the schema, cfn-lint (1.58) knows the type, but validates none of its properties: its property rules look
schemas up only among AWS's own. So each resource of the type is then checked against the schema here: its
properties (names, types, patterns, required ones) and the attributes that ``Fn::GetAtt`` reads from it. A
``Custom::CloudTrailLakeImport``, which cfn-lint does not check at all, has its property names checked against
the handler's own list.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "registry" / "traillogs-cloudtraillake-import.json"


@functools.cache
def registry_schemas() -> Path:
    """A folder holding the type's schema alone."""
    folder = Path(tempfile.mkdtemp(prefix="registry-schemas-"))
    shutil.copy(SCHEMA, folder)
    return folder


def command(templates: list[str], *extra: str) -> list[str]:
    """The cfn-lint command line for ``templates``, with the type's schema."""
    return [str(Path(sys.executable).parent / "cfn-lint"), *templates, "--registry-schemas", str(registry_schemas()),
            *extra]


def _intrinsic(value: object) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in {"Ref", "Condition"} | {
        key for key in value if str(key).startswith("Fn::")}


def _get_atts(node: object) -> list[tuple[str, str]]:
    """Every (resource, attribute) that ``Fn::GetAtt`` reads in ``node``."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Fn::GetAtt":
                target = value.split(".", 1) if isinstance(value, str) else value
                if isinstance(target, list) and len(target) == 2 and all(isinstance(t, str) for t in target):
                    found.append((target[0], target[1]))
            else:
                found += _get_atts(value)
    elif isinstance(node, list):
        for item in node:
            found += _get_atts(item)
    return found


def _dependencies(schema: dict[str, Any]) -> dict[str, list[str]]:
    """The schema's property dependencies, at its top or in its ``allOf`` (where the registry's meta-schema
    lets a type write them)."""
    found: dict[str, list[str]] = {}
    for part in [schema, *schema.get("allOf", [])]:
        for name, needed in (part.get("dependencies") or {}).items():
            if isinstance(needed, list):
                found.setdefault(name, []).extend(needed)
    return found


def schema_errors(template_path: str, schema: dict[str, Any] | None = None) -> list[str]:
    """What the type's schema refuses in the template: a property of a resource of the type, or an attribute."""
    import jsonschema
    from cfnlint.decode import decode

    schema = schema if schema is not None else json.loads(SCHEMA.read_text())
    template, matches = decode(template_path)
    if template is None:
        return [f"{template_path}: {m.message}" for m in matches]
    resources = {name: r for name, r in (template.get("Resources") or {}).items()
                 if isinstance(r, dict) and r.get("Type") == schema["typeName"]}
    readable = {p.rsplit("/", 1)[-1] for p in schema.get("readOnlyProperties", [])}
    writable = {name: prop for name, prop in schema["properties"].items()
                if f"/properties/{name}" not in schema.get("readOnlyProperties", [])}
    properties_schema = {"type": "object", "properties": writable, "additionalProperties": False,
                         "definitions": schema.get("definitions", {})}
    # Loose types, as cfn-lint judges AWS's own types (strict_types off): "25" is an integer, "true" a boolean.
    draft = jsonschema.Draft7Validator
    checker = draft.TYPE_CHECKER.redefine_many({
        "integer": lambda c, v: draft.TYPE_CHECKER.is_type(v, "integer") or (
            isinstance(v, str) and v.lstrip("-").isdigit()),
        "boolean": lambda c, v: isinstance(v, bool) or v in ("true", "false"),
    })
    loose = jsonschema.validators.extend(draft, type_checker=checker)  # type: ignore[no-untyped-call]
    validator = loose(properties_schema, format_checker=draft.FORMAT_CHECKER)
    errors: list[str] = []
    for name, resource in resources.items():
        properties = resource.get("Properties") or {}
        where = f"{template_path}: Resources/{name}/Properties"
        errors += [f"{where}: required property {p} is missing" for p in schema.get("required", [])
                   if p not in properties]
        # The schema's dependencies, judged on the names given: a value from Ref or Fn::* counts as given.
        for depending, needed in _dependencies(schema).items():
            missing = [n for n in needed if n not in properties]
            if depending in properties and missing:
                errors.append(f"{where}: {depending} needs {' and '.join(missing)} too")
        # A value CloudFormation computes at deploy time (Ref, Fn::*) is judged then, not here.
        literal = {k: v for k, v in properties.items() if not _intrinsic(v)}
        for error in sorted(validator.iter_errors(literal), key=lambda e: list(e.path)):
            path = "/".join(str(p) for p in error.path)
            errors.append(f"{where}{'/' + path if path else ''}: {error.message}")
    errors += [f"{template_path}: Fn::GetAtt {resource}.{attribute}: {schema['typeName']} has no attribute "
               f"{attribute} (it has {', '.join(sorted(readable))})"
               for resource, attribute in _get_atts(template) if resource in resources and attribute not in readable]
    return errors


def custom_resource_errors(template_path: str) -> list[str]:
    """What the handler would refuse by name in the template's ``Custom::CloudTrailLakeImport`` resources: a
    property it does not know, or one it needs that is missing. cfn-lint checks nothing of a custom resource's
    properties, and a misspelt one would fail only at deploy."""
    from cfnlint.decode import decode

    if str(ROOT / "lambda") not in sys.path:
        sys.path.insert(0, str(ROOT / "lambda"))
    from trail_import_handler.properties import CLOUDFORMATION_KEYS, PROPERTY_NAMES, REQUIRED

    template, matches = decode(template_path)
    if template is None:
        return [f"{template_path}: {m.message}" for m in matches]
    errors = []
    for name, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict) or resource.get("Type") != "Custom::CloudTrailLakeImport":
            continue
        properties = resource.get("Properties") or {}
        where = f"{template_path}: Resources/{name}/Properties"
        errors += [f"{where}/{p}: not a property of Custom::CloudTrailLakeImport (it has "
                   f"{', '.join(sorted(CLOUDFORMATION_KEYS | PROPERTY_NAMES))})" for p in properties
                   if p not in PROPERTY_NAMES | CLOUDFORMATION_KEYS]
        errors += [f"{where}: required property {p} is missing" for p in ("ServiceToken", *REQUIRED)
                   if p not in properties]
    return errors


def main(argv: list[str]) -> int:
    templates, _, extra = (argv[: argv.index("--")], None, argv[argv.index("--") + 1:]) if "--" in argv \
        else (argv, None, [])
    templates = templates or sorted(str(p) for p in (ROOT / "examples").glob("*.yaml"))
    returncode = subprocess.run(command(templates, *extra), check=False).returncode
    errors = [error for template in templates for error in (*schema_errors(template),
                                                             *custom_resource_errors(template))]
    if errors:
        print(*errors, sep="\n", file=sys.stderr)
    return returncode | (2 if errors else 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
