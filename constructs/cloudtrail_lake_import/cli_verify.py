"""``cloudtrail-lake-import verify``: prove a trail archive before it is copied into CloudTrail Lake.

Exit codes: 0 the archive is intact, 1 a problem was found, 2 it could not be
verified (arguments, credentials, access, a service error).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from trail_import_handler.verification import Archive, PublicKeys, Report
from trail_import_handler.verification import verify as verify_archive

from ._cli_errors import _aws_errors

# ListPublicKeys is asked around the window: a digest near its edge may be signed by the key of the next hours.
_KEY_MARGIN = timedelta(hours=4)


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
@click.option("--region", "regions", multiple=True, help="Only this region (repeat for more). Default: every region.")
@click.option("--chain-only", is_flag=True, help="Check the digests and that every named log file exists, without "
                                                 "reading the log files (no hashes, no event counts).")
@click.option("--workers", default=16, show_default=True, type=click.IntRange(1, 256),
              help="Requests under way at once.")
@click.option("--json", "as_json", is_flag=True, help="Print only the report, as JSON (README: Verifying an archive).")
@click.pass_obj
def verify(obj: dict[str, Any], source: str, start: str, end: str, accounts: tuple[str, ...],
           regions: tuple[str, ...], chain_only: bool, workers: int, as_json: bool) -> None:
    """Verify SOURCE (s3://bucket[/prefix]) from --start to --end: CloudTrail's signed digest chain of every
    account and region, every log file the digests name, and every log file they do not."""
    bucket, prefix = _source(source)
    window = Archive(bucket, prefix, _time("--start", start), _time("--end", end), accounts, regions)
    if window.start >= window.end:
        raise click.BadParameter(f"{start} is not before --end {end}", param_hint="--start")
    progress = _Progress(enabled=not as_json and sys.stderr.isatty())

    @_aws_errors
    def run() -> Report:
        s3 = obj["client"]("s3")
        return verify_archive(s3, lambda region: _keys(obj, region, window), window, deep=not chain_only,
                              workers=workers, progress=progress)

    report = run()
    progress.close()
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print(report)
    if not report.intact:
        raise SystemExit(1)


def _keys(obj: dict[str, Any], region: str, window: Archive) -> PublicKeys:
    ct = obj["client"]("cloudtrail", region)
    pages, token = [], None
    while True:
        page = ct.list_public_keys(StartTime=window.start - _KEY_MARGIN, EndTime=window.end + _KEY_MARGIN,
                                   **({"NextToken": token} if token else {}))
        pages.append(page)
        token = page.get("NextToken")
        if not token:
            return PublicKeys.from_answer(pages)


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


def _print(report: Report) -> None:
    digests, logs = report.total("digests"), report.total("log_files")
    click.echo(f"Verified {report.source} from {report.start:%Y-%m-%dT%H:%M:%SZ} to {report.end:%Y-%m-%dT%H:%M:%SZ}"
               f"{'' if report.deep else ' (chain only)'}.")
    click.echo(f"{'account':<14}{'region':<16}{'digests ok/bad/missing':>24}{'log files ok/bad/missing/unnamed':>36}"
               f"{'events':>10}")
    for (account, region), s in sorted(report.slices.items()):
        click.echo(f"{account:<14}{region:<16}{f'{s.digests.valid}/{s.digests.invalid}/{s.digests.missing}':>24}"
                   f"{f'{s.log_files.valid}/{s.log_files.invalid}/{s.log_files.missing}/{s.log_files.not_covered}':>36}"
                   f"{s.events_in_window if report.deep else '-':>10}")
    for heading, findings in (("Problems", report.problems), ("Notices", report.notices)):
        if findings:
            click.echo(f"\n{heading}:")
            for f in sorted(findings, key=lambda f: (f.account, f.region, f.key or "", f.kind)):
                click.echo(f"  {f.kind}  {f.account} {f.region}  {f.key or '(no key)'}\n    {f.message}")
    click.echo(f"\n{digests.checked} digests, {logs.checked} log files checked, {logs.not_covered} unnamed. "
               + ("Intact." if report.intact else f"NOT intact: {len(report.problems)} problem(s)."))
