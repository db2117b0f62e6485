"""BENCHMARKS.md from a benchmark report: each target, measured, met or missed by how much."""

from __future__ import annotations

from onceonly.bench import BenchReport, table_lines


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
    pandas = _find(report, "yardstick: pandas")[0]
    forms = [s for s in report.stages if s.name.startswith("forms/")]
    csv_seconds = sum(s.seconds for s in csv_landing)
    forms_seconds = sum(s.seconds for s in forms)
    ratio = csv_seconds / duck.seconds if duck.seconds else float("inf")
    speedup = pandas.seconds / verify.seconds if verify.seconds else float("inf")
    return [
        ("full nightly run under 5 minutes", f"{nightly.seconds:,.1f} s", nightly.seconds < 300),
        ("nightly peak memory under 4 GB", f"{report.process_peak_rss_mb:,.0f} MB",
         report.process_peak_rss_mb < 4096),
        ("ingestion within 2x of DuckDB alone (CSV feeds)",
         f"{csv_seconds:,.1f} s vs {duck.seconds:,.1f} s = {ratio:,.1f}x", ratio <= 2),
        ("monthly verification under 10 s", f"{verify.seconds:,.2f} s", verify.seconds < 10),
        ("verification at least 10x faster than pandas",
         f"pandas {pandas.seconds:,.2f} s / {verify.seconds:,.2f} s = {speedup:,.1f}x",
         speedup >= 10),
        ("12 subdistricts' workbooks for a month under 60 s", f"{forms_seconds:,.1f} s",
         forms_seconds < 60),
    ]


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
    lines += ["", *[f"- {n}" for n in report.notes], ""]
    return "\n".join(lines)
