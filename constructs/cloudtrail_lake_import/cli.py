"""``cloudtrail-lake-import``: preflight a source, watch an import, list imports and their failures,
and build the registry resource type's package for ``aws cloudformation register-type``.

It uses the usual AWS settings (``AWS_PROFILE``, ``--profile``, ``--region``); the global options may come
before or after the subcommand. Exit codes: 0 done, 1 a blocking preflight problem or an import that ended
FAILED or STOPPED, 2 an error (credentials, permissions, arguments, a service's refusal).
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import botocore.session
import click

from trail_import_handler import clock
from trail_import_handler.cloudtrail import RUNNING, STATISTICS
from trail_import_handler.errors import ImportResourceError
from trail_import_handler.pricing import PRICES_AS_OF, PRICES_REGION
from trail_import_handler.properties import parse_properties

from ._cli_errors import _aws_errors
from ._cli_output import Printer
from ._cli_settings import client_factory, color, global_options, output
from .cli_verify import verify

PACKAGE = "cdk-cloudtrail-lake-import"
# The preflight's flags, by the resource properties they fill: the core's messages name the properties.
_FLAGS = {"S3LocationUri": "SOURCE", "S3BucketRegion": "--bucket-region", "StartEventTime": "--start",
          "EndEventTime": "--end", "S3BucketAccessRoleArn": "--role-arn", "EventDataStoreArn": "--destination"}


def _version() -> str:
    try:
        return version(PACKAGE)
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


@click.group(name="cloudtrail-lake-import", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="cloudtrail-lake-import",
                      message="%(prog)s %(version)s")
@global_options
@click.pass_context
def main(ctx: click.Context) -> None:
    """Preflight, verify, watch and inspect CloudTrail Lake imports of trail logs."""
    ctx.ensure_object(dict)
    ctx.obj.setdefault("sleep", time.sleep)
    ctx.obj.setdefault("client", client_factory(ctx.obj))


def _printer(obj: dict[str, Any]) -> Printer:
    return Printer(output(obj), color(obj))


def _import_id(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """IMPORT_ID, checked against the form CloudTrail's API model gives it before any request is sent."""
    shape = botocore.session.get_session().get_service_model("cloudtrail").shape_for("UUID")
    low, high, pattern = shape.metadata["min"], shape.metadata["max"], shape.metadata["pattern"]
    if not (low <= len(value) <= high and re.search(pattern, value)):
        raise click.BadParameter(f"expected an import id, {low} characters of 0-9, a-f and '-' as 'list' shows "
                                 f"them (such as 1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d); got {value!r}.", ctx, param)
    return value


def _in_flags(text: str) -> str:
    """A message of the handler core, with the resource properties it names as the flags the user typed."""
    return re.sub(r"\b(" + "|".join(_FLAGS) + r")\b", lambda m: _FLAGS[m.group(1)], text)


@main.command()
@click.argument("source")
@click.option("--bucket-region", required=True, help="Region of the bucket (S3BucketRegion).")
@click.option("--start", help="Start of the window, ISO 8601 with an offset.")
@click.option("--end", help="End of the window, ISO 8601 with an offset.")
@click.option("--role-arn", help="Access role, to check that it can decrypt SSE-KMS logs.")
@click.option("--destination", help="Event data store ARN, to check its status, event category, retention, "
                                    "organization and live ingestion against the window.")
@click.option("--sample", default=5, show_default=True, help="Log files to read for the estimates.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (short for --output json).")
@global_options
@click.pass_obj
@_aws_errors
def preflight(obj: dict[str, Any], source: str, bucket_region: str, start: str | None, end: str | None,
              role_arn: str | None, destination: str | None, sample: int, as_json: bool) -> None:
    """What an import of SOURCE (s3://bucket[/prefix]) would read and cost, and what would stop it."""
    from trail_import_handler.destination import check_destination
    from trail_import_handler.preflight import run_preflight

    try:
        props = parse_properties({
            "EventDataStoreArn": destination or "arn:aws:cloudtrail:us-east-1:000000000000:eventdatastore/preflight",
            "S3LocationUri": source, "S3BucketRegion": bucket_region,
            "S3BucketAccessRoleArn": role_arn or "arn:aws:iam::000000000000:role/preflight",
            "StartEventTime": start or "", "EndEventTime": end or "",
        })
    except ImportResourceError as error:
        named, _, rest = str(error).partition(": ")
        if named in _FLAGS and rest:
            raise click.BadParameter(_in_flags(rest), param_hint=_FLAGS[named]) from None
        raise click.UsageError(_in_flags(str(error))) from None
    s3 = obj["client"]("s3", bucket_region)
    iam = obj["client"]("iam") if role_arn else None
    report = run_preflight(s3, props.source, props.window, iam=iam, role_arn=role_arn, sample_size=sample)
    if destination:
        report.problems += check_destination(obj["client"]("cloudtrail"), destination, props.window,
                                             clock.now(), organizations=lambda: obj["client"]("organizations"),
                                             files=report.findings.files)
    report.problems = [replace(p, message=_in_flags(p.message)) for p in report.problems]
    if output(obj, as_json) == "json":
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print_report(report, _printer(obj))
    if report.blocking:
        raise SystemExit(1)


@main.command()
@click.argument("import_id", callback=_import_id)
@click.option("--interval", default=10.0, show_default=True, help="Seconds between GetImport calls.")
@global_options
@click.pass_obj
@_aws_errors
def watch(obj: dict[str, Any], import_id: str, interval: float) -> None:
    """Follow IMPORT_ID until it ends: prefixes, files, events and failures as they grow."""
    ct = obj["client"]("cloudtrail")
    sleep: Callable[[float], None] = obj["sleep"]
    printer = _printer(obj)
    live = sys.stdout.isatty()
    while True:
        answer = ct.get_import(ImportId=import_id)
        status = answer.get("ImportStatus", "?")
        stats = {name: int(answer.get("ImportStatistics", {}).get(name, 0)) for name in STATISTICS}
        line = _progress_line(status, stats, printer)
        click.echo(("\r" + line) if live else line, nl=not live, color=printer.color)
        if status not in RUNNING:
            if live:
                click.echo()
            break
        sleep(interval)
    printer.line(f"Import {import_id} ended {printer.word(status)}.")
    if status != "COMPLETED":
        raise SystemExit(1)


@main.command(name="list")
@click.option("--destination", help="Only imports into this event data store ARN.")
@click.option("--status", type=click.Choice(["INITIALIZING", "IN_PROGRESS", "FAILED", "STOPPED", "COMPLETED"]),
              help="Only imports in this status.")
@click.option("--json", "as_json", is_flag=True, help="Print the imports as JSON (short for --output json).")
@global_options
@click.pass_obj
@_aws_errors
def list_imports(obj: dict[str, Any], destination: str | None, status: str | None, as_json: bool) -> None:
    """The region's imports, newest first."""
    ct = obj["client"]("cloudtrail")
    filters = {k: v for k, v in (("Destination", destination), ("ImportStatus", status)) if v}
    rows = sorted(_pages(ct.list_imports, "Imports", **filters), key=lambda i: str(i.get("CreatedTimestamp")),
                  reverse=True)
    if output(obj, as_json) == "json":
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    _printer(obj).table(["ImportId", "Status", "Destination", "Created", "Updated"],
                        [[i["ImportId"], i.get("ImportStatus", ""), ",".join(i.get("Destinations", [])),
                          _when(i.get("CreatedTimestamp")), _when(i.get("UpdatedTimestamp"))] for i in rows])


@main.command()
@click.argument("import_id", callback=_import_id)
@click.option("--json", "as_json", is_flag=True, help="Print the failures as JSON (short for --output json).")
@global_options
@click.pass_obj
@_aws_errors
def failures(obj: dict[str, Any], import_id: str, as_json: bool) -> None:
    """Every failure of IMPORT_ID, through all pages."""
    ct = obj["client"]("cloudtrail")
    rows = list(_pages(ct.list_import_failures, "Failures", ImportId=import_id))
    if output(obj, as_json) == "json":
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    printer = _printer(obj)
    printer.table(["Location", "Status", "ErrorType", "ErrorMessage"],
                  [[f.get("Location", ""), f.get("Status", ""), f.get("ErrorType", ""), f.get("ErrorMessage", "")]
                   for f in rows])
    if printer.form == "table":
        printer.line(f"{len(rows)} failure(s).")


@main.command(name="type-package")
@click.option("--type-name", default="TrailLogs::CloudTrailLake::Import", show_default=True,
              help="The three-part name to register the type under.")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default="import-type.zip",
              show_default=True, help="Where to write the schema handler package.")
@global_options
def type_package(type_name: str, out: str) -> None:
    """Write the resource type's schema handler package, for aws cloudformation register-type."""
    import shutil

    from . import _type_package

    shutil.copyfile(_type_package.package(type_name), out)
    permissions = sorted({p for h in _type_package.schema(type_name)["handlers"].values()
                          for p in h["permissions"]})
    click.echo(f"Wrote {out} for {type_name}. Upload it to S3, then register it with an execution role trusted by "
               "resources.cloudformation.amazonaws.com that may: " + ", ".join(permissions) + ".")


def _pages(call: Callable[..., Any], key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        page = call(**kwargs, MaxResults=1000, **({"NextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return


def _progress_line(status: str, stats: dict[str, int], printer: Printer) -> str:
    found, done = stats["PrefixesFound"], stats["PrefixesCompleted"]
    width = 24
    filled = width * done // found if found else 0
    bar = "#" * filled + "-" * (width - filled)
    return (f"[{bar}] {done}/{found} prefixes  {stats['FilesCompleted']:,} files  "
            f"{stats['EventsCompleted']:,} events  {stats['FailedEntries']:,} failed  {printer.word(status)}")


def _print_report(report: Any, printer: Printer) -> None:
    found = report.findings
    window = report.window
    printer.pairs([
        ("Source", f"{report.source.uri} ({report.source.region})"),
        ("Window", f"{_iso(window.start) or 'open'} .. {_iso(window.end) or 'open'}"),
        ("Regions", ", ".join(found.regions) or "none found"),
        ("Log files", f"{len(found.files):,} ({_size(found.compressed_bytes)} compressed)"),
        ("Estimated", f"{_size(report.uncompressed_bytes)} uncompressed, {report.events:,} events "
                      f"(from {report.sampled_files} sampled files)"),
        ("Cost", "; ".join(f"{name}: ${usd:,.2f}" for name, usd in report.costs.items())
         + f" ({PRICES_REGION} prices as of {PRICES_AS_OF})" if report.costs else "nothing to ingest"),
        ("List requests", str(found.list_requests)),
    ])
    if not report.problems:
        return
    if printer.form == "text":
        printer.table(["Severity", "Problem"],
                      [["BLOCKING" if p.blocking else "note", p.message] for p in report.problems])
        return
    printer.line("Problems")
    for problem in report.problems:
        printer.line(f"  {printer.word('BLOCKING' if problem.blocking else 'note', 9)}{problem.message}")


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:,.1f} {unit}" if unit != "B" else f"{count:,} B"
        value /= 1024
    return f"{count} B"


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else str(value or "")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


main.add_command(verify)
