"""Benchmarks at district scale: the nightly run, one monthly verification, and their limits.

Each stage is timed and its peak memory sampled, and the same work is timed on two yardsticks:
DuckDB alone loading the same CSV files (the limit for ingestion), and a plain pandas script
doing the same monthly verification (what an analyst would otherwise write).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import psutil

from onceonly.settings import DataFolder


@dataclass(slots=True)
class Stage:
    name: str
    rows: int
    seconds: float
    peak_rss_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass(slots=True)
class MonthRun:
    """One month's nightly run in the benchmark: how long it took and its peak memory."""

    period: str
    seconds: float
    peak_rss_mb: float
    landing_rows: int  # rows in the warehouse's landing tables after the run, all months


@dataclass(slots=True)
class BenchReport:
    people: int
    months: int
    machine: dict[str, str]
    started_at: str
    stages: list[Stage] = field(default_factory=list)
    yardsticks: list[Stage] = field(default_factory=list)
    month_runs: list[MonthRun] = field(default_factory=list)
    process_peak_rss_mb: float = 0.0
    load_average: list[float] = field(default_factory=list)  # 1, 5, 15 min, at the end
    notes: list[str] = field(default_factory=list)
    # An earlier run over several months, shown beside this one for memory against history.
    months_report: BenchReport | None = None

    def stage(self, name: str) -> Stage:
        for s in self.stages + self.yardsticks:
            if s.name == name:
                return s
        raise KeyError(name)


class MemorySampler:
    """Samples a process's resident memory every few milliseconds, with timestamps.

    By default this process; with `pid`, another one (a month's run), children included.
    """

    def __init__(self, interval: float = 0.02, pid: int | None = None) -> None:
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._process = psutil.Process(pid or os.getpid())

    def _rss(self) -> int:
        try:
            total = self._process.memory_info().rss
            for child in self._process.children(recursive=True):
                total += child.memory_info().rss
        except psutil.Error:
            return 0  # the process has just ended
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self._rss()))
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def peak_mb(self, start: float | None = None, end: float | None = None) -> float:
        window = [rss for t, rss in self.samples
                  if (start is None or t >= start) and (end is None or t <= end)]
        return max(window, default=0) / 2**20


def machine() -> dict[str, str]:
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": str(os.cpu_count()),
        "memory_gb": f"{psutil.virtual_memory().total / 2**30:.1f}",
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "system": f"{platform.system()} {platform.release()}",
    }


@contextmanager
def timed(sampler: MemorySampler, name: str, rows: int, into: list[Stage]) -> Iterator[None]:
    start = time.time()
    yield
    end = time.time()
    into.append(Stage(name, rows, end - start, sampler.peak_mb(start, end)))


def step_stages(instance, run_id: str, sampler: MemorySampler) -> list[Stage]:
    """Per-step duration, rows and peak memory of a finished in-process run."""
    from dagster import DagsterEventType

    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    rows: dict[str, int] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or not record.step_key:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            starts[record.step_key] = record.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            ends[record.step_key] = record.timestamp
        elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            metadata = event.step_materialization_data.materialization.metadata
            for key in ("rows_loaded", "rows", "alerts", "persons", "rows_written"):
                value = metadata[key].value if key in metadata else None
                if isinstance(value, int | float) and not isinstance(value, bool):
                    rows[record.step_key] = rows.get(record.step_key, 0) + int(value)
                    break
    return [
        Stage(step.replace("__", "/"), rows.get(step, 0), ends[step] - starts[step],
              sampler.peak_mb(starts[step], ends[step]))
        for step in sorted(starts, key=starts.get) if step in ends
    ]


def duckdb_alone(folder: DataFolder, target: Path) -> tuple[int, float]:
    """Load every staged UTF-8 extract straight into DuckDB tables, as text, with no checks."""
    target.unlink(missing_ok=True)
    files = sorted(folder.staging.glob("*.csv"))
    rows = 0
    start = time.time()
    with duckdb.connect(str(target)) as conn:
        for index, path in enumerate(files):
            conn.execute(f"CREATE TABLE t{index} AS SELECT * FROM read_csv(?, all_varchar = true,"
                         " header = true)", [str(path)])
            rows += conn.execute(f"SELECT count(*) FROM t{index}").fetchone()[0]
    return rows, time.time() - start


def write_json(report: BenchReport, folder: DataFolder) -> Path:
    out = folder.root / "bench" / f"bench-{report.people}-{report.started_at.replace(':', '')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    data = asdict(report)
    data.pop("months_report")
    for group in ("stages", "yardsticks"):
        for stage in data[group]:
            stage["rows_per_second"] = stage["rows"] / stage["seconds"] if stage["seconds"] else 0
    out.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return out


def read_report(path: Path) -> BenchReport:
    """A benchmark report back from the JSON file `write_json` wrote."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        stages = [Stage(s["name"], s["rows"], s["seconds"], s["peak_rss_mb"])
                  for s in data["stages"]]
        yardsticks = [Stage(s["name"], s["rows"], s["seconds"], s["peak_rss_mb"])
                      for s in data["yardsticks"]]
        months = [MonthRun(**m) for m in data.get("month_runs", [])]
        return BenchReport(data["people"], data["months"], data["machine"], data["started_at"],
                           stages, yardsticks, months, data["process_peak_rss_mb"],
                           data.get("load_average", []), data.get("notes", []))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path} is not a results file written by `onceonly bench` "
                         f"({type(err).__name__}: {err}). Pass the JSON file a bench run wrote "
                         "under <data>/bench/.") from None


def table_lines(report: BenchReport) -> list[str]:
    header = f"| {'stage':<40} | {'rows':>12} | {'seconds':>8} | {'rows/s':>12} | {'peak MB':>8} |"
    rule = "|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|"
    lines = [header, rule]
    for stage in report.stages + report.yardsticks:
        lines.append(f"| {stage.name:<40} | {stage.rows:>12,} | {stage.seconds:>8.2f} | "
                     f"{stage.rows_per_second:>12,.0f} | {stage.peak_rss_mb:>8,.0f} |")
    return lines


def now_stamp() -> str:
    return dt.datetime.now().replace(microsecond=0).isoformat()
