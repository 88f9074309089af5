"""The API reference of the constructs and the test helpers, from their docstrings: ``make docs``.

    python scripts/api_docs.py [OUTDIR]    # default build/api; open OUTDIR/index.html

pdoc renders the modules users import (``cloudtrail_lake_import`` and ``cloudtrail_lake_import.testing``) as
HTML. Before it writes anything, every public name is checked: each class, function, method, property and
attribute the package exports has a docstring, and each construct prop (a keyword of ``__init__``) and each
keyword of the constructs module's functions a ``:param name:`` line. One missing fails the build and is named.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# The constructs import aws_cdk, which starts jsii's Node runtime: pdoc refuses subprocesses at import otherwise.
os.environ.setdefault("PDOC_ALLOW_EXEC", "1")

import pdoc
import pdoc.doc

ROOT = Path(__file__).resolve().parent.parent
MODULES = ["cloudtrail_lake_import", "cloudtrail_lake_import.testing"]
# A construct's first two arguments are CDK's own, documented there.
_FRAMEWORK_ARGUMENTS = {"self", "scope", "construct_id", "id"}


def _exported(module: pdoc.doc.Module) -> Iterator[pdoc.doc.Doc[Any]]:
    names = getattr(module.obj, "__all__", None)
    for name, member in module.members.items():
        if (names is None and not name.startswith("_")) or (names is not None and name in names):
            yield member


def load(module_names: list[str]) -> None:
    """Import the modules and what they export: ``cloudtrail_lake_import`` loads its constructs on first use,
    where pdoc, which reads a module's namespace, would not see them."""
    for name in module_names:
        module = importlib.import_module(name)
        for exported in getattr(module, "__all__", []):
            setattr(module, exported, getattr(module, exported))


def undocumented(module_names: list[str]) -> list[str]:
    """Every exported name of ``module_names`` without a docstring, and every prop without ``:param``."""
    load(module_names)
    missing: list[str] = []
    for module_name in module_names:
        module = pdoc.doc.Module.from_name(module_name)
        if not module.docstring.strip():
            missing.append(f"{module_name}: no module docstring")
        for member in _exported(module):
            missing += _check(member)
    return missing


def _check(member: pdoc.doc.Doc[Any]) -> list[str]:
    missing = [] if member.docstring.strip() else [f"{member.fullname}: no docstring"]
    if isinstance(member, pdoc.doc.Class):
        for own in member.own_members:
            if own.name.startswith("_") and own.name != "__init__":
                continue
            if own.name == "__init__":
                # A construct's keywords are its props; a test helper's are documented in prose.
                missing += _props(member, own) if _is_construct(member.obj) else []
            elif not own.docstring.strip():
                missing.append(f"{own.fullname}: no docstring")
    elif isinstance(member, pdoc.doc.Function) and member.modulename == MODULES[0]:
        missing += _props(None, member)
    return missing


def _is_construct(cls: object) -> bool:
    from constructs import Construct

    return isinstance(cls, type) and issubclass(cls, Construct)


def _props(owner: pdoc.doc.Class | None, function: pdoc.doc.Doc[Any]) -> list[str]:
    """The keyword parameters of ``function`` that its docstring (or its class's) gives no ``:param`` line."""
    target = function.obj
    if not callable(target):
        return []
    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return []
    text = function.docstring + (owner.docstring if owner is not None else "")
    keyword = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [f"{function.fullname}: prop {name} has no ':param {name}:'" for name, p in parameters.items()
            if p.kind in keyword and name not in _FRAMEWORK_ARGUMENTS and f":param {name}:" not in text]


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "build" / "api"
    missing = undocumented(MODULES)
    if missing:
        print(f"{len(missing)} public name(s) without documentation:", *missing, sep="\n  ", file=sys.stderr)
        return 1
    pdoc.render.configure(docformat="restructuredtext", footer_text="cdk-cloudtrail-lake-import")
    pdoc.pdoc(*MODULES, output_directory=out)
    print(f"API reference: {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
