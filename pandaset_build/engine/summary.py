"""One-screen stage summaries (rich tables)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pandaset_build.engine.stage import StageReport

MAX_FAILURES_SHOWN = 20


def print_summary(report: StageReport, console: Console) -> None:
    """Counts, failures and time of a stage run."""
    skipped = sum(r.skipped for r in report.records)
    retried = f", {report.retried} redone" if report.retried else ""
    table = Table(
        title=f"{report.stage}: {len(report.records)} shards ({skipped} already done{retried})"
    )
    table.add_column("count")
    table.add_column("value", justify="right")
    for key, n in sorted(report.totals().items()):
        table.add_row(key, str(n))
    table.add_row("failures", str(len(report.failures)))
    table.add_row("shard errors", str(len(report.errors)))
    table.add_row("seconds", f"{report.seconds:.1f}")
    timed = sorted((r.seconds, r.shard) for r in report.records if not r.skipped and not r.error)
    if timed:
        median = timed[len(timed) // 2][0]
        table.add_row(
            "shard seconds min / median / max",
            f"{timed[0][0]:.2f} / {median:.2f} / {timed[-1][0]:.2f} (slowest: {timed[-1][1]})",
        )
    console.print(table)
    for note in report.notes:
        console.print(escape(note))
    for failure in report.failures[:MAX_FAILURES_SHOWN]:
        console.print(f"[red]failed[/red] {escape(failure.file)}: {escape(failure.reason)}")
    if len(report.failures) > MAX_FAILURES_SHOWN:
        console.print(f"... and {len(report.failures) - MAX_FAILURES_SHOWN} more failures")
    for record in report.errors:
        error = escape(record.error or "")
        console.print(f"[red]shard {record.stage}/{record.shard} raised[/red] {error}")
    kept = report.done_with_failures
    if kept:
        items = sum(len(r.failures) for r in kept)
        console.print(
            f"{len(kept)} shards are done with failures ({items} items, not redone by a plain "
            "rerun): fix or replace those inputs, then rerun with --retry-failed to redo them"
        )
