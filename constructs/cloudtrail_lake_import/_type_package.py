"""The registry resource type's schema handler package, built at synth time.

The package is what RegisterType reads: ``schema.json`` (under the name the
user registers), ``.rpdk-config`` (runtime and entrypoint) and
``ResourceProvider.zip``, the handler code. That inner zip holds exactly the
modules ``trail_import_handler.registry`` imports, found by importing it in a
clean interpreter, less the standard library and what the Lambda Python
runtime provides (boto3 and its dependencies). Files are written in a fixed
order with fixed times, so the asset hash changes only with the content.
"""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any

ENTRYPOINT = "trail_import_handler.registry.resource"
RUNTIME = "python3.12"
LANGUAGE = "python312"
# In the Lambda Python runtime already (AWS Lambda Developer Guide, "Runtime-included SDK versions").
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"})
# requests works without a character detector (it warns), and these ship compiled for one Python and machine.
LEFT_OUT = ("charset_normalizer", "chardet")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)

_CLOSURE = f"""
import json, sys
for name in {LEFT_OUT!r}:
    sys.modules[name] = None
import {ENTRYPOINT.rsplit('.', 1)[0]}
files = {{}}
for name, module in list(sys.modules.items()):
    path = getattr(module, "__file__", None)
    top = name.split(".")[0]
    if path and top not in sys.stdlib_module_names and top not in {sorted(RUNTIME_PROVIDED)!r}:
        files[name] = path
print(json.dumps(files))
"""


def schema(type_name: str | None = None) -> dict[str, Any]:
    """The type's schema, under ``type_name`` when given."""
    text = resources.files("cloudtrail_lake_import").joinpath("resource_type_schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    if type_name:
        loaded["typeName"] = type_name
    return loaded


@functools.cache
def handler_files() -> tuple[tuple[str, Path], ...]:
    """(path in the zip, file) for every module the entrypoint imports, and the data files of their packages."""
    # A fresh interpreter that finds packages where this one does, and has imported nothing yet.
    script = f"import sys\nsys.path[:0] = {[p for p in sys.path if p]!r}\n" + _CLOSURE
    ran = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, env=_clean_env(),
                         check=False)
    if ran.returncode != 0:
        raise RuntimeError(f"cannot import {ENTRYPOINT.rsplit('.', 1)[0]} to build the resource type's handler "
                           f"package; reinstall cdk-cloudtrail-lake-import: {ran.stderr.strip()[-800:]}")
    found = json.loads(ran.stdout)
    entries: dict[str, Path] = {}
    for name, path in found.items():
        file = Path(path)
        module_path = name.replace(".", "/") + ("/__init__.py" if file.name == "__init__.py" else ".py")
        if name.startswith("_") or not file.as_posix().endswith("/" + module_path):
            continue  # the interpreter's own helpers, and aliases such as requests.packages.urllib3
        depth = name.count(".") + (1 if file.name == "__init__.py" else 0)
        root = file.parents[depth]
        entries[file.relative_to(root).as_posix()] = file
        if file.name == "__init__.py":
            for data in file.parent.iterdir():
                if data.is_file() and data.suffix not in (".py", ".pyc", ".so", ".pyd", ".pyi"):
                    entries[data.relative_to(root).as_posix()] = data
    return tuple(sorted(entries.items()))


def handler_zip() -> bytes:
    """``ResourceProvider.zip``: the handler's modules and nothing else."""
    return _zip([(arcname, file.read_bytes()) for arcname, file in handler_files()])


def package(type_name: str) -> str:
    """Write the schema handler package for ``type_name``; returns the zip's path."""
    settings = {"artifact_type": "RESOURCE", "typeName": type_name, "language": LANGUAGE, "runtime": RUNTIME,
                "entrypoint": ENTRYPOINT, "testEntrypoint": ENTRYPOINT,
                "settings": {"use_docker": False, "protocolVersion": "2.0.0"}}
    data = _zip([
        (".rpdk-config", json.dumps(settings, indent=4).encode()),
        ("ResourceProvider.zip", handler_zip()),
        ("schema.json", json.dumps(schema(type_name), indent=4).encode()),
    ])
    folder = Path(tempfile.mkdtemp(prefix="trail-import-type-"))
    path = folder / "schema-handler-package.zip"
    path.write_bytes(data)
    return str(path)


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for arcname, content in sorted(entries):
            info = zipfile.ZipInfo(arcname, _FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
