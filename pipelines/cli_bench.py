"""`onceonly bench`: measure the nightly run against the limits of the machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from onceonly.bench import read_report, table_lines, write_json


def bench(
    people: Annotated[int, typer.Option(help="Residents in the benchmark district.")] = 1_240_000,
    months: Annotated[int, typer.Option(help="Months generated; the last one is measured.")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    markdown: Annotated[
        Path | None, typer.Option(help="Also write the results table to this Markdown file.")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="The data folder.")] = None,
    months_from: Annotated[
        Path | None, typer.Option(help="Results JSON of an earlier run with several months, "
                                       "shown in the Markdown for memory against history.")
    ] = None,
) -> None:
    """Generate a district, run the nightly pipeline and one monthly verification, and time
    each stage beside DuckDB alone and a pandas script; results go under <data>/bench/."""
    from onceonly.settings import data_folder
    from pipelines.bench_markdown import render_markdown
    from pipelines.benchmark import run_bench

    folder = data_folder(data_dir).ensure()
    earlier = read_report(months_from) if months_from is not None else None
    report = run_bench(folder, people, months, seed, echo=typer.echo)
    report.months_report = earlier
    out = write_json(report, folder)
    typer.echo("")
    for line in table_lines(report):
        typer.echo(line)
    typer.echo(f"\nProcess peak memory: {report.process_peak_rss_mb:,.0f} MB. Results: {out}")
    if markdown is not None:
        markdown.write_text(render_markdown(report), encoding="utf-8")
        typer.echo(f"Wrote {markdown}.")
