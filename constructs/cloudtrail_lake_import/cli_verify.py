"""``cloudtrail-lake-import verify``: prove a trail archive before it is copied into CloudTrail Lake.

Exit codes: 0 the archive is intact, 1 a problem was found, 2 it could not be
verified (arguments, credentials, access, a service error).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

import click

from trail_import_handler.verification import Archive, PublicKeys, Report
from trail_import_handler.verification import verify as verify_archive

from ._cli_errors import _aws_errors
from ._cli_output import Printer
from ._cli_settings import color, global_options, output


def _time(name: str, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"expected an ISO 8601 time with an offset, such as 2024-01-01T00:00:00Z; "
                                 f"got {text!r}", param_hint=name) from None
    if value.tzinfo is None:
        raise click.BadParameter(f"{text!r} has no offset; add Z for UTC", param_hint=name)
    return value.astimezone(UTC)


def _source(text: str) -> tuple[str, str]:
    if not text.startswith("s3://") or not text[5:].split("/", 1)[0]:
        raise click.BadParameter(f"expected s3://bucket or s3://bucket/prefix; got {text!r}", param_hint="SOURCE")
    bucket, _, prefix = text[5:].partition("/")
    return bucket, prefix


@click.command()
@click.argument("source")
@click.option("--start", required=True, help="Start of the window, ISO 8601 with an offset.")
@click.option("--end", required=True, help="End of the window (not included), ISO 8601 with an offset.")
@click.option("--account", "accounts", multiple=True, help="Only this account (repeat for more). Default: every "
                                                          "account under SOURCE, organization prefixes included.")
@click.option("--log-region", "regions", multiple=True,
              help="Only the logs of this region (repeat for more). Default: every region. (--region is where "
                   "AWS is reached, as for every command.)")
@click.option("--chain-only", is_flag=True, help="Check the digests and that every named log file exists, without "
                                                 "reading the log files (no hashes, no event counts).")
@click.option("--workers", default=16, show_default=True, type=click.IntRange(1, 256),
              help="Requests under way at once.")
@click.option("--json", "as_json", is_flag=True, help="Print only the report, as JSON (README: Verifying an archive; "
                                                      "short for --output json).")
@global_options
@click.pass_obj
def verify(obj: dict[str, Any], source: str, start: str, end: str, accounts: tuple[str, ...],
           regions: tuple[str, ...], chain_only: bool, workers: int, as_json: bool) -> None:
    """Verify SOURCE (s3://bucket[/prefix]) from --start to --end: CloudTrail's signed digest chain of every
    account and region, every log file the digests name, and every log file they do not."""
    bucket, prefix = _source(source)
    window = Archive(bucket, prefix, _time("--start", start), _time("--end", end), accounts, regions)
    if window.start >= window.end:
        raise click.BadParameter(f"{start} is not before --end {end}", param_hint="--start")
    form = output(obj, as_json)
    progress = _Progress(enabled=form != "json" and sys.stderr.isatty())

    @_aws_errors
    def run() -> Report:
        s3 = obj["client"]("s3")
        return verify_archive(s3, lambda region: _keys(obj, region, window), window, deep=not chain_only,
                              workers=workers, progress=progress)

    report = run()
    progress.close()
    if form == "json":
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print(report, Printer(form, color(obj)))
    if not report.intact:
        raise SystemExit(1)


def _keys(obj: dict[str, Any], region: str, window: Archive) -> PublicKeys:
    return PublicKeys.fetch(obj["client"]("cloudtrail", region), window.start, window.end)


class _Progress:
    """One line on the terminal: digests and log files done out of those found."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.done: dict[str, tuple[int, int]] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        self.done[phase] = (done, total)
        line = "   ".join(f"{name} {d:,}/{t:,}" for name, (d, t) in self.done.items())
        click.echo("\r" + line, nl=False, err=True)

    def close(self) -> None:
        if self.enabled and self.done:
            click.echo(err=True)


def _print(report: Report, printer: Printer) -> None:
    digests, logs = report.total("digests"), report.total("log_files")
    slices = [(account, region, [str(n) for n in (s.digests.valid, s.digests.invalid, s.digests.missing)],
               [str(n) for n in (s.log_files.valid, s.log_files.invalid, s.log_files.missing, s.log_files.not_covered)],
               str(s.events_in_window) if report.deep else "-")
              for (account, region), s in sorted(report.slices.items())]
    findings = [(heading, f) for heading, found in (("problem", report.problems), ("notice", report.notices))
                for f in sorted(found, key=lambda f: (f.account, f.region, f.key or "", f.kind))]
    if printer.form == "text":
        # One record per line, its type first, fields separated by tabs: for cut, awk and grep.
        printer.table([], [["slice", account, region, *digests_, *logs_, events]
                           for account, region, digests_, logs_, events in slices])
        printer.table([], [[heading, f.kind, f.account, f.region, f.key or "", f.message] for heading, f in findings])
        printer.table([], [["total", str(digests.checked), str(logs.checked), str(logs.not_covered),
                            "intact" if report.intact else "not-intact"]])
        return
    printer.line(f"Verified {report.source} from {report.start:%Y-%m-%dT%H:%M:%SZ} to {report.end:%Y-%m-%dT%H:%M:%SZ}"
                 f"{'' if report.deep else ' (chain only)'}.")
    printer.table(["account", "region", "digests ok/bad/missing", "log files ok/bad/missing/unnamed", "events"],
                  [[account, region, "/".join(digests_), "/".join(logs_), events]
                   for account, region, digests_, logs_, events in slices])
    for heading in ("problem", "notice"):
        listed = [f for h, f in findings if h == heading]
        if listed:
            printer.line(f"\n{heading.capitalize()}s:")
            for f in listed:
                printer.line(f"  {printer.word(heading)} {f.kind}  {f.account} {f.region}  {f.key or '(no key)'}\n"
                             f"    {f.message}")
    verdict = "Intact." if report.intact else f"NOT intact: {len(report.problems)} problem(s)."
    printer.line(f"\n{digests.checked} digests, {logs.checked} log files checked, {logs.not_covered} unnamed. "
                 + printer.word(verdict, meaning="Intact." if report.intact else "problem"))
