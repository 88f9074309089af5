"""The benchmark report: a markdown page of figures and ratios, and a chart of synth scaling."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _ratio(ours: float, peer: float) -> str:
    if not peer:
        return "n/a"
    ratio = ours / peer
    return f"{ratio:.2f}" if ratio >= 0.01 else f"{ratio:.4f}"


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        "# Benchmarks",
        "",
        f"Measured {m['date']} on {m['cores']} cores ({m['cpu']}), Python {m['python']}, Node {m['node']}, "
        f"{m['system']}. The whole run took {r['bench_seconds']} s. Ratios are ours / the alternative's, "
        "measured side by side in this run (below 1 is better for us where less is better).",
        "",
        "## Synth: TrailImport against AwsCustomResource calling startImport",
        "",
        "Median of interleaved runs; the peer neither waits for the import nor reports its statistics.",
        "",
        "| imports | synth s (ours) | synth s (peer) | ratio | template bytes (ours) | (peer) | ratio "
        "| resources (ours) | (peer) | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for count, row in r["synth"].items():
        o, p = row["ours"], row["peer"]
        lines.append(f"| {count} | {o['synth_seconds']:.2f} | {p['synth_seconds']:.2f} | "
                     f"{_ratio(o['synth_seconds'], p['synth_seconds'])} | {o['template_bytes']:,} | "
                     f"{p['template_bytes']:,} | {_ratio(o['template_bytes'], p['template_bytes'])} | "
                     f"{o['resources']} | {p['resources']} | {_ratio(o['resources'], p['resources'])} |")
    lines += [
        "",
        "![synth time and template size against the number of imports](chart.png)",
        "",
        "## Waiting: how long the stack waits after the import has finished",
        "",
        "Simulator clock; means over 16 end times spread across two minutes. Ours: the Provider checks every "
        "30 s (two Lambda invocations a check: the framework's and ours). crhelper: a poll a minute or every two "
        "minutes (one invocation a poll). Ratios are against crhelper polling each minute.",
        "",
        "| import min | resource | wait after import s | ratio | GetImport calls | ratio | Lambda invocations "
        "| ratio |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for minutes, row in r["waiting"].items():
        base = row["crhelper_1min"]
        for name, figures in row.items():
            lines.append(
                f"| {minutes} | {name} | {figures['wait_after_import_seconds']:.1f} | "
                f"{_ratio(figures['wait_after_import_seconds'], base['wait_after_import_seconds'])} | "
                f"{figures['get_import_calls']:.1f} | {_ratio(figures['get_import_calls'], base['get_import_calls'])}"
                f" | {figures['lambda_invocations']:.1f} | "
                f"{_ratio(figures['lambda_invocations'], base['lambda_invocations'])} |")
    cold = r["cold_start"]
    lines += [
        "",
        "## Handler cold start and size",
        "",
        f"`python -X importtime`, fresh interpreter, median of runs; boto3 itself: {cold['boto3_import_ms']} ms.",
        "",
        "| entry | import ms beyond boto3 | ratio to boto3 |",
        "|---|---:|---:|",
    ]
    for name, figures in cold["entries"].items():
        lines.append(f"| {name} | {figures['import_ms_beyond_boto3']} | "
                     f"{_ratio(figures['import_ms_beyond_boto3'], cold['boto3_import_ms'])} |")
    lines += ["", "| asset | zipped bytes |", "|---|---:|"]
    lines += [f"| {name} | {size:,} |" for name, size in cold["assets"].items()]
    pf = r["preflight"]
    full = pf["full_listing"]
    lines += [
        "",
        "## Preflight: S3 list requests against listing the prefix whole",
        "",
        f"{pf['log_files']:,} hourly log files (a year, three regions) in moto's S3. Listing the prefix whole: "
        f"{full['list_requests']} requests, {full['seconds']} s.",
        "",
        "| window days | files found | list requests | ratio to whole listing | seconds | ratio |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for days, figures in pf["preflight"].items():
        lines.append(f"| {days} | {figures['files']:,} | {figures['list_requests']} | "
                     f"{_ratio(figures['list_requests'], full['list_requests'])} | {figures['seconds']} | "
                     f"{_ratio(figures['seconds'], full['seconds'])} |")
    org = r["org_scale"]
    lines += [
        "",
        "## Preflight at organization scale",
        "",
        f"An organization trail bucket, {org['regions']} regions an account, two days of logs; an in-memory S3 "
        f"that answers each list request after {org['latency_ms']:.0f} ms. Previous: every account and region "
        "enumerated one after the other, then each region listed (8 at a time), the Create check stopping at "
        "each region's first file. Ours: the Create check walks accounts and regions in key order and stops at "
        "the first file of the window; the whole preflight lists accounts 8 at a time.",
        "",
        "| accounts | check | list requests (ours) | (previous) | ratio | seconds (ours) | (previous) | ratio |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for accounts, row in org["accounts"].items():
        for check, figures in row.items():
            o, p = figures["ours"], figures["previous"]
            lines.append(f"| {accounts} | {check.replace('_', ' ')} | {o['list_requests']:,} | "
                         f"{p['list_requests']:,} | {_ratio(o['list_requests'], p['list_requests'])} | "
                         f"{o['seconds']} | {p['seconds']} | {_ratio(o['seconds'], p['seconds'])} |")
    cost = r["monitor_cost"]
    lines += [
        "",
        "## ImportMonitor: steady cost per month",
        "",
        f"Calls of one steady check counted against the simulator and moto; {cost['idle']['checks_per_month']:,} "
        f"checks a month (every 5 minutes); list prices {cost['prices']}; an assumed {cost['assumed_check_seconds']} s "
        "check at 256 MB (arm64). Metrics are written as embedded metric format records in the function's log: no "
        "PutMetricData calls, so a metric costs only as a custom metric while an import reports it. The CloudTrail "
        "import APIs carry no charge. The dashboard is free among an account's first three, "
        f"${cost['idle']['dashboard_usd_per_month_beyond_three']:.2f} a month beyond.",
        "",
        "| state | calls a check | Lambda | DynamoDB | EventBridge | metrics | logs | total USD / month |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for state in ("idle", "one_running_import"):
        row = cost[state]
        usd = row["usd_per_month"]
        calls = ", ".join(f"{n} {op}" for op, n in row["calls_per_check"].items())
        lines.append(f"| {state.replace('_', ' ')} | {calls} | {usd['lambda']:.4f} | {usd['dynamodb']:.4f} | "
                     f"{usd['eventbridge']:.4f} | {usd['metrics']:.2f} | {usd['logs']:.4f} | "
                     f"{row['total_usd_per_month']:.2f} |")
    lines += _registry_type(r["registry_type"]) if "registry_type" in r else []
    lines += _verification(r["verification"])
    if "verification_engine" in r:
        lines += _verification_engine(r["verification_engine"])
    lines += ["", "Raw figures: results.json.", ""]
    return "\n".join(lines)


def _registry_type(r: dict[str, Any]) -> list[str]:
    pkg = r["package"]
    lines = [
        "",
        "## The registry resource type: handler package and the long wait",
        "",
        "ResourceProvider.zip as ResourceTypeRegistration builds it (only the modules the handlers import) "
        "against the CloudFormation CLI Python plugin's way (pip install of the support library with all its "
        "dependencies, zipped; before the handler's own code is added).",
        "",
        "| package | zipped bytes | ratio |",
        "|---|---:|---:|",
        f"| ours ({pkg['files_ours']} files) | {pkg['ours_zip_bytes']:,} | "
        f"{_ratio(pkg['ours_zip_bytes'], pkg['plugin_zip_bytes_without_handler'])} |",
        f"| plugin's dependencies alone | {pkg['plugin_zip_bytes_without_handler']:,} | 1.00 |",
        "",
        "Imports played through the type's create handler on the simulator's clock: our cadence (every minute, "
        "then a tenth of the time waited, at most every five minutes) against a check every minute. Means over "
        "8 end times spread across five minutes. Ratios are ours / every minute.",
        "",
        "| import h | cadence | invocations (= GetImport calls) | ratio | wait after import s | ratio |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for hours, row in r["waiting"].items():
        base = row["every_minute"]
        for name, figures in row.items():
            lines.append(f"| {hours} | {name.replace('_', ' ')} | {figures['invocations']:.1f} | "
                         f"{_ratio(figures['invocations'], base['invocations'])} | "
                         f"{figures['wait_after_import_seconds']:.1f} | "
                         f"{_ratio(figures['wait_after_import_seconds'], base['wait_after_import_seconds'])} |")
    if "adoption_search" in r:
        lines += _adoption_search(r["adoption_search"])
    return lines


def _adoption_search(r: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "A Create that must find the one stopped copy of its window among the destination's past imports (at four "
        "fifths of the listing) before it resumes it, GetImport throttled to one request a second (no rate is "
        "published). Bounded: the type's search, 25 s an invocation, then IN_PROGRESS and on from where it stood. "
        "Unbounded: no time budget, as before the bound (it pauses only when a request stays throttled through its "
        "four tries). CloudFormation allows a handler invocation 60 s. Simulator clock.",
        "",
        "| past imports | search | invocations while searching | longest invocation s | ratio | "
        "GetImport requests | resumed the stopped copy |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    for past, row in r.items():
        base = row["unbounded"]
        for name, figures in row.items():
            lines.append(f"| {past} | {name} | {figures['search_invocations']} | "
                         f"{figures['longest_invocation_seconds']:.1f} | "
                         f"{_ratio(figures['longest_invocation_seconds'], base['longest_invocation_seconds'])} | "
                         f"{figures['get_import_requests']:,} | "
                         f"{'yes' if figures['resumed_the_stopped_copy'] else 'no'} |")
    return lines


def _verification(r: dict[str, Any]) -> list[str]:
    three = r["three_regions"]
    lines = [
        "",
        "## Verifying an archive: cloudtrail-lake-import verify against aws cloudtrail validate-logs",
        "",
        f"Both deep (every digest's signature, every log file's SHA-256), whole processes. Archive: 1 account x 3 "
        f"regions x 72 h ({three['digests_written']} digests and {three['log_files_written']} log files written, "
        "the window's and the hours around it), served by a read-only loopback S3 in a process of its own that "
        "holds each request for the latency given without using its CPU. The AWS CLI (v1, one region per run) runs "
        f"once per region, one after the other; ours verifies every region in one run, {r['workers']} requests at "
        "a time. Ratios are ours / the AWS CLI's.",
        "",
        "| latency | tool | wall s | ratio | requests | digests valid | log files valid | peak MB | CPU s | "
        "stand-in CPU ms / request |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for latency, row in three["by_latency"].items():
        base = row["aws_cli"]
        for name, figures in (("ours", row["ours"]), ("AWS CLI", row["aws_cli"])):
            lines.append(f"| {float(latency) * 1000:.0f} ms | {name} | {figures['seconds']:.2f} | "
                         f"{_ratio(figures['seconds'], base['seconds'])} | {figures['requests']:,} | "
                         f"{figures['digests']} | {figures['log_files']} | {figures['peak_mb']:.0f} | "
                         f"{figures['cpu_seconds']:.2f} | "
                         f"{1000 * figures['standin_cpu_seconds'] / max(figures['requests'], 1):.3f} |")
    zero = three["ours_at_0"]
    org = r["organization"]["ours"]
    lines += [
        "",
        f"Ours at 0 ms (its CPU floor): {zero['seconds']:.2f} s wall, {zero['cpu_seconds']:.2f} s CPU for "
        f"{zero['requests']:,} requests.",
        "",
        f"An organization archive, 20 accounts x 3 regions x 24 h under `AWSLogs/o-ID/`, from `s3://bucket` alone "
        f"at 50 ms: {org['seconds']:.2f} s, {org['requests']:,} requests, {org['digests']:,} digests and "
        f"{org['log_files']:,} log files valid, peak {org['peak_mb']:.0f} MB (the AWS CLI with --s3-bucket finds "
        "no digest there).",
        "",
        "Memory against the window (1 account, 1 region, 0 ms): "
        + ", ".join(f"{name.replace('_', ' ')}: peak {m['peak_mb']:.0f} MB for {m['digests']} digests"
                    for name, m in r["memory"].items()) + ".",
    ]
    return lines


def _verification_engine(r: dict[str, Any]) -> list[str]:
    piece, p, a = r["piece"], r["projection"], r["assumptions"]
    cost = p["cost_usd"]
    requests = ", ".join(f"{n:,} {op}" for op, n in sorted(piece["requests"].items()))
    share = ", ".join(f"{100 * v:.1f} % of the {k} charge" for k, v in p["share_of_ingestion"].items())
    ingestion = ", ".join(f"${v:,.0f} ({k})" for k, v in p["ingestion_usd"].items())
    return [
        "",
        "## ArchiveVerification at organization scale, projected from one piece measured",
        "",
        f"One piece (one account, region and day of a trail writing {a['logs_per_hour']} log files an hour of "
        f"{a['events_per_log']} events) verified by the state machine's step against moto's S3: "
        f"{piece['digests']} digests and {piece['log_files']} log files valid, {piece['events']:,} events; "
        f"{requests}; {piece['bytes_read']:,} bytes read ({piece['uncompressed_bytes']:,} uncompressed); a "
        f"{piece['report_bytes']:,}-byte report. CPU: {piece['cpu_ms_with_moto']} ms with moto's own work "
        f"(an upper bound), {piece['own_cpu_ms']} ms for the verification's own (gunzip, SHA-256, JSON, RSA). "
        f"Modelled piece: {piece['modelled_ms']} ms, its reads at {a['latency_s'] * 1000:.0f} ms each, "
        f"{a['workers']} at a time, plus {a['invocation_overhead_ms']} ms.",
        "",
        f"Projected onto {p['accounts']} accounts x {p['regions']} regions x {p['days']:,} days "
        f"({p['pieces']:,} pieces) at MaxConcurrency {p['max_concurrency']:,}: about {p['wall_hours']} h of "
        f"verification (roll-ups of {p['rollup_ms']:,} ms each included), at list prices of {a['prices_as_of']}:",
        "",
        "| S3 requests | Lambda | Step Functions | report storage (a month) | total |",
        "|---:|---:|---:|---:|---:|",
        f"| ${cost['s3_requests']:,.2f} | ${cost['lambda']:,.2f} | ${cost['step_functions']:,.2f} | "
        f"${cost['report_storage_month']:,.2f} | ${p['total_usd']:,.2f} |",
        "",
        f"Ingesting the same archive into CloudTrail Lake: {ingestion}. Verification is {share}. Not modelled: "
        "Step Functions' own rate of starting child executions and the account's Lambda burst, which can only "
        "lengthen the wall time, never the cost.",
    ]


def chart(r: dict[str, Any], target: Path) -> None:
    """Synth time and template size against the number of imports, for us and the peer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = [int(c) for c in r["synth"]]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name, label in (("ours", "TrailImport"), ("peer", "AwsCustomResource")):
        left.plot(counts, [r["synth"][str(c)][name]["synth_seconds"] for c in counts], marker="o", label=label)
        right.plot(counts, [r["synth"][str(c)][name]["template_bytes"] / 1024 for c in counts], marker="o",
                   label=label)
    left.set(title="Synth time (median)", xlabel="imports in the stack", ylabel="seconds")
    right.set(title="Template size", xlabel="imports in the stack", ylabel="KiB")
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(target, dpi=110)
