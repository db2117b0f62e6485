"""BENCHMARKS.md from a benchmark report: each target, measured, met or missed by how much."""

from __future__ import annotations

from onceonly.bench import BenchReport, table_lines

TARGET_NAMES = (
    "full nightly run under 5 minutes",
    "nightly peak memory under 4 GB",
    "ingestion within 2x of DuckDB alone (CSV feeds)",
    "monthly verification under 10 s",
    "verification at least 10x faster than pandas",
    "12 subdistricts' workbooks for a month under 60 s",
    "memory does not grow with the months kept",
)


def _find(report: BenchReport, prefix: str):
    return [s for s in report.stages + report.yardsticks if s.name.startswith(prefix)]


def targets(report: BenchReport) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for every target of the benchmark."""
    nightly = _find(report, "nightly run")[0]
    landing = [s for s in report.stages if s.name.startswith("landing/")]
    csv_landing = [s for s in landing if s.name.split("/")[1] in (
        "household_register", "household_moves", "marriage_registry", "labour_archive")]
    duck = _find(report, "yardstick: DuckDB alone")[0]
    verify = _find(report, "monthly verification")[0]
    pandas = _find(report, "yardstick: pandas monthly")[0]
    loads = _find(report, "yardstick: pandas loads")
    pandas_load = loads[0].seconds if loads else 0.0
    forms = [s for s in report.stages if s.name == "forms/issued_workbooks"]
    csv_seconds = sum(s.seconds for s in csv_landing)
    forms_seconds = sum(s.seconds for s in forms)
    ratio = csv_seconds / duck.seconds if duck.seconds else float("inf")
    pandas_seconds = pandas_load + pandas.seconds
    speedup = pandas_seconds / verify.seconds if verify.seconds else float("inf")
    measured = [
        (f"{nightly.seconds:,.1f} s", nightly.seconds < 300),
        (f"{nightly.peak_rss_mb:,.0f} MB", nightly.peak_rss_mb < 4096),
        (f"{csv_seconds:,.1f} s vs {duck.seconds:,.1f} s = {ratio:,.1f}x", ratio <= 2),
        (f"{verify.seconds:,.2f} s", verify.seconds < 10),
        (f"pandas {pandas_seconds:,.2f} s (loading {pandas_load:,.2f} s + checking "
         f"{pandas.seconds:,.2f} s) / {verify.seconds:,.2f} s = {speedup:,.1f}x", speedup >= 10),
        (f"{forms_seconds:,.1f} s", forms_seconds < 60),
        _memory_over_months(report),
    ]
    return [(name, value, met) for name, (value, met) in zip(TARGET_NAMES, measured,
                                                               strict=True)]


def _memory_over_months(report: BenchReport) -> tuple[str, bool]:
    """Peak memory of the last month's run against the first's, as history piles up.

    Memory counts as not growing when the last month needs at most 10% (or 100 MB) more than
    the first. The months come from this run or, when it ran one month, from the run given
    with --months-from; without either the target is reported as not measured.
    """
    source = report.months_report or report
    runs = source.month_runs
    if len(runs) < 2:
        return "not measured: run with --months 3, or pass --months-from", False
    first, last = runs[0], runs[-1]
    grown = last.peak_rss_mb - first.peak_rss_mb
    met = grown <= max(0.1 * first.peak_rss_mb, 100)
    return (f"{source.people:,} residents: {first.period} {first.peak_rss_mb:,.0f} MB with "
            f"{first.landing_rows:,} rows landed; {last.period} {last.peak_rss_mb:,.0f} MB with "
            f"{last.landing_rows:,}"), met


def month_lines(report: BenchReport) -> list[str]:
    """One line per month run: seconds, peak memory and the rows landed so far."""
    lines = ["| month | seconds | peak MB | landed rows, all months |", "|---|---|---|---|"]
    lines += [f"| {m.period} | {m.seconds:,.1f} | {m.peak_rss_mb:,.0f} | {m.landing_rows:,} |"
              for m in report.month_runs]
    return lines


def render_markdown(report: BenchReport) -> str:
    m = report.machine
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `onceonly bench --people {report.people} --months {report.months}` on "
        f"{report.started_at}: {m['cores']} cores, {m['memory_gb']} GB, {m['cpu']}, "
        f"{m['system']}, Python {m['python']}, DuckDB {m['duckdb']}.",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    lines += [f"| {t} | {v} | {'yes' if ok else '**no**'} |" for t, v, ok in targets(report)]
    lines += ["", "## Stages (the last generated month)", ""] + table_lines(report)
    lines += ["", "## Every month run", ""] + month_lines(report)
    if report.months_report is not None:
        other = report.months_report
        lines += ["", f"## Months kept: `onceonly bench --people {other.people} --months "
                  f"{other.months}` on {other.started_at}", ""] + month_lines(other)
    if report.load_average:
        lines += ["", "Load average at the end of the run (1, 5, 15 minutes): "
                  + ", ".join(f"{x:.2f}" for x in report.load_average)
                  + f" on {m['cores']} cores."]
    lines += ["", *[f"- {n}" for n in report.notes], ""]
    return "\n".join(lines)
