"""`onceonly bench` at a tiny size: every stage is measured and every target is reported.

This is not a timed test: the figures at district scale come from `make bench` and are kept in
BENCHMARKS.md. Here the command runs once on 1,000 residents, in its own process like a user's,
and the JSON and Markdown it writes are read back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.bench_markdown import TARGET_NAMES

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bench")]

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = 1000
# The stages a nightly run has, by their asset names; the bench must time each one.
NIGHTLY_STEPS = (
    "landing/household_register", "landing/household_moves", "landing/marriage_registry",
    "landing/death_registry", "landing/social_aid", "pool/person", "sentinel/aid_alerts",
    "forms/issued_workbooks",
)


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory) -> tuple[dict, str, str]:
    data = tmp_path_factory.mktemp("bench-data")
    markdown = data / "BENCHMARKS.md"
    env = {**os.environ, "ONCEONLY_DATA_DIR": str(data)}
    env.pop("DAGSTER_HOME", None)
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "bench", "--people", str(PEOPLE),
         "--data-dir", str(data), "--markdown", str(markdown)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = sorted((data / "bench").glob(f"bench-{PEOPLE}-*.json"))
    assert len(results) == 1, f"expected one results file, found {results}"
    return (json.loads(results[0].read_text(encoding="utf-8")),
            markdown.read_text(encoding="utf-8"), done.stdout)


def test_every_stage_is_timed_with_rows_and_memory(bench_run):
    report, _, _ = bench_run
    stages = {s["name"]: s for s in report["stages"] + report["yardsticks"]}
    for name in ("nightly run, all assets", *NIGHTLY_STEPS,
                 "monthly verification (sentinel/aid_alerts)",
                 "yardstick: DuckDB alone loads the month's CSV files",
                 "yardstick: pandas loads the five landed tables",
                 "yardstick: pandas monthly verification"):
        assert name in stages, f"the bench did not time {name}"
        assert stages[name]["seconds"] > 0, name
        assert stages[name]["peak_rss_mb"] > 0, name
    assert report["people"] == PEOPLE
    assert report["process_peak_rss_mb"] >= stages["nightly run, all assets"]["peak_rss_mb"]
    assert int(report["machine"]["cores"]) >= 1
    months = report["month_runs"]
    assert [m["period"] for m in months] == ["2026-01"]
    assert months[0]["seconds"] > 0 and months[0]["peak_rss_mb"] > 0


def test_rows_reconcile_with_the_generated_district(bench_run):
    report, _, _ = bench_run
    stages = {s["name"]: s for s in report["stages"] + report["yardsticks"]}
    register = stages["landing/household_register"]["rows"]
    # Every resident is in the household register (a few listed twice, or quarantined).
    assert PEOPLE * 0.95 <= register <= PEOPLE * 1.05
    assert 0.95 * register <= stages["pool/person"]["rows"] <= register
    # DuckDB alone loads the same CSV files the nightly run read, so at least the register.
    assert stages["yardstick: DuckDB alone loads the month's CSV files"]["rows"] >= register
    # The pandas yardstick finds exactly the alerts the pipeline found.
    assert (stages["yardstick: pandas monthly verification"]["rows"]
            == stages["monthly verification (sentinel/aid_alerts)"]["rows"]
            == stages["sentinel/aid_alerts"]["rows"])
    assert stages["sentinel/aid_alerts"]["rows"] > 0


def test_markdown_reports_every_target_and_the_machine(bench_run):
    report, markdown, stdout = bench_run
    for target in TARGET_NAMES:
        rows = [line for line in markdown.splitlines() if line.startswith(f"| {target} |")]
        assert len(rows) == 1, f"BENCHMARKS.md has no single row for the target {target!r}"
        assert rows[0].rstrip().endswith(("| yes |", "| **no** |"))
    assert f"{report['machine']['cores']} cores" in markdown
    assert f"--people {PEOPLE}" in markdown
    assert "nightly run, all assets" in stdout
