"""`onceonly bench`: the nightly run and one monthly verification at district scale."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

from assets.partitions import month_bounds
from onceonly.bench import (
    BenchReport,
    MemorySampler,
    MonthRun,
    Stage,
    duckdb_alone,
    machine,
    now_stamp,
    step_stages,
)
from onceonly.bench_pandas import verify_month
from onceonly.reference import DISTRICT_CODE
from onceonly.sample_district import generate
from onceonly.settings import DataFolder, data_folder
from pipelines.runner import prepare_dagster_home, run_month
from warehouse.connection import open_warehouse

CSV_FEEDS = ("household_register", "household_moves", "marriage_registry", "labour_archive")


def run_bench(base: DataFolder, people: int, months: int = 1, seed: int = 7,
              echo=print) -> BenchReport:
    """Generate a district of `people`, run every month, and time the last month's stages."""
    folder = data_folder(base.root / "bench" / f"district-{people}")
    if folder.root.exists():
        shutil.rmtree(folder.root)  # only the benchmark's own district, never the user's data
    folder.ensure()
    report = BenchReport(people, months, machine(), now_stamp())
    with MemorySampler() as sampler:
        parent = sampler
        echo(f"Generating {people:,} residents, {months} month(s) ...")
        started = time.time()
        summary = generate(folder.inbox, folder.truth, people=people, months=months, seed=seed)
        records = sum(sum(v.values()) for v in summary.row_counts.values())
        report.notes.append(f"The generated district holds {records:,} records in all feeds "
                            f"(generated in {time.time() - started:.0f} s, not part of any stage).")
        periods = sorted({p for v in summary.row_counts.values() for p in v if p != "opening"})
        for period in periods:
            echo(f"Running the nightly pipeline for {period} ...")
            # Each month runs in a fresh process, as the Dagster daemon launches every run:
            # its peak memory is then the run's own, not what this process has piled up.
            start, end, run_id, child = _run_month_in_child(folder, period)
            report.month_runs.append(MonthRun(period, end - start, child.peak_mb(start, end),
                                              _landing_rows(folder)))
        last = periods[-1]
        sampler = child  # the measured month's steps ran in the last child process
        prepare_dagster_home(folder)
        instance = dg.DagsterInstance.get()
        steps = step_stages(instance, run_id, child)
        report.stages.append(Stage("nightly run, all assets", records, end - start,
                                   child.peak_mb(start, end)))
        report.stages += steps
        sampler = parent
        echo("Running one monthly verification on its own ...")
        report.stages.append(_verification_alone(folder, last, sampler))
        echo("Timing the yardsticks: DuckDB alone, and pandas ...")
        report.yardsticks += _yardsticks(folder, last, sampler)
        report.process_peak_rss_mb = max(parent.peak_mb(), child.peak_mb())
    report.load_average = [round(x, 2) for x in os.getloadavg()]
    return report


def _run_month_in_child(folder: DataFolder, period: str) -> tuple[float, float, str,
                                                                   MemorySampler]:
    """Run one month in its own Python process; its start, end, run id and memory samples."""
    command = [sys.executable, "-m", "pipelines.benchmark", str(folder.root), period]
    start = time.time()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with MemorySampler(pid=child.pid) as sampler:
        out, err = child.communicate()
    end = time.time()
    if child.returncode != 0:
        raise RuntimeError(f"The benchmark's nightly run for {period} failed: "
                           f"{(err.strip().splitlines() or ['no message'])[-1]} Run `onceonly "
                           f"run --month {period} --data-dir {folder.root}` to see the whole log.")
    return start, end, json.loads(out.strip().splitlines()[-1])["run_id"], sampler


def _month_in_this_process(root: str, period: str) -> None:
    """The child's side: run the month, print its run id as JSON, fail loudly if it failed."""
    outcome = run_month(data_folder(Path(root)), period, log_level="WARNING")
    if not outcome.success:
        raise SystemExit(f"The steps {', '.join(outcome.failed_steps)} failed.")
    print(json.dumps({"run_id": outcome.run_id}))


def _landing_rows(folder: DataFolder) -> int:
    """Rows kept in every landing table, all months together: what history has piled up."""
    with open_warehouse(folder.warehouse, read_only=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'landing'").fetchall()]
        return sum(conn.execute(f'SELECT count(*) FROM landing."{t}"').fetchone()[0]
                   for t in tables)


def _verification_alone(folder: DataFolder, period: str, sampler: MemorySampler) -> Stage:
    from assets.aid_sentinel import aid_alerts
    from pipelines.resources import Warehouse

    prepare_dagster_home(folder)
    start = time.time()
    result = dg.materialize([aid_alerts], partition_key=period,
                            instance=dg.DagsterInstance.get(),
                            resources={"warehouse": Warehouse(data_dir=str(folder.root))},
                            selection=[aid_alerts.key])
    end = time.time()
    mats = result.asset_materializations_for_node(aid_alerts.op.name)
    alerts = int(mats[0].metadata["alerts"].value) if mats else 0
    return Stage("monthly verification (sentinel/aid_alerts)", alerts, end - start,
                 sampler.peak_mb(start, end))


def _yardsticks(folder: DataFolder, period: str, sampler: MemorySampler) -> list[Stage]:
    out: list[Stage] = []
    with open_warehouse(folder.warehouse, read_only=True) as conn:
        shas = {r[0] for r in conn.execute(
            "SELECT sha256 FROM ingest.files WHERE period = ? AND encoding <> 'xlsx'",
            [period]).fetchall()}
    staging_subset = folder.root / "bench_staging"
    shutil.rmtree(staging_subset, ignore_errors=True)
    staging_subset.mkdir()
    for sha in shas:
        staged = folder.staging / f"{sha}.csv"
        if staged.exists():
            shutil.copy(staged, staging_subset / staged.name)
    start = time.time()
    rows, seconds = duckdb_alone(_StagingView(staging_subset), folder.root / "duckdb_alone.duckdb")
    out.append(Stage("yardstick: DuckDB alone loads the month's CSV files", rows, seconds,
                     sampler.peak_mb(start, time.time())))

    first, last = month_bounds(period)
    # A script has to load what it checks: the same landed tables the SQL reads, all months.
    start = time.time()
    with open_warehouse(folder.warehouse, read_only=True) as conn:
        tables = {name: conn.execute(f"SELECT * FROM landing.{name}").df() for name in (
            "aid_households", "aid_members", "death_registry", "marriage_registry",
            "household_moves")}
    end = time.time()
    out.append(Stage("yardstick: pandas loads the five landed tables",
                     sum(len(t) for t in tables.values()), end - start,
                     sampler.peak_mb(start, end)))
    start = time.time()
    alerts = verify_month(tables["aid_households"], tables["aid_members"],
                          tables["death_registry"], tables["marriage_registry"],
                          tables["household_moves"], period, first, last, DISTRICT_CODE)
    end = time.time()
    out.append(Stage("yardstick: pandas monthly verification", len(alerts), end - start,
                     sampler.peak_mb(start, end)))
    return out


class _StagingView:
    """Just enough of a DataFolder for duckdb_alone: a staging folder."""

    def __init__(self, staging: Path) -> None:
        self.staging = staging


if __name__ == "__main__":
    _month_in_this_process(sys.argv[1], sys.argv[2])
