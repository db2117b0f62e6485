"""`onceonly check FILE --feed NAME`: validate one file against its contract without loading it.

Exit status 0 when the file would load cleanly, 1 when rows would be quarantined, 2 when the
file is rejected. The summary names no person: only counts, rules and masked values.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from onceonly.settings import DATA_DIR_ENV, data_folder

EXIT_CODES = {"clean": 0, "quarantine": 1, "rejected": 2}


def check(
    file: Annotated[Path, typer.Argument(help="The extract file to check (.csv or .xlsx).")],
    feed_name: Annotated[str, typer.Option("--feed", help="The feed contract, e.g. social_aid.")],
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help=f"The data folder (default: ${DATA_DIR_ENV} or ./data)."),
    ] = None,
) -> None:
    """Check one file against its feed contract, print a summary and write the report."""
    from onceonly.contracts import feed
    from onceonly.extracts.ingest import inspect_file
    from onceonly.extracts.report import verdict, write_validation_report

    if not file.is_file():
        typer.echo(f"onceonly: {file} is not a file; give the path of the extract to check.",
                   err=True)
        raise typer.Exit(2)
    try:
        contract = feed(feed_name)
    except KeyError as err:
        typer.echo(f"onceonly: {err.args[0]}", err=True)
        raise typer.Exit(2) from None
    outcomes = inspect_file(file, contract)
    folder = data_folder(data_dir).ensure()
    report = write_validation_report(
        folder.reports / "validation" / "checks" / f"{file.stem}_校验报告.xlsx", contract, outcomes)
    for o in outcomes:
        where = o.sheet or o.table
        if o.rejection:
            typer.echo(f"{where}: rejected. {o.rejection}")
            continue
        typer.echo(f"{where}: {o.rows_read} rows read, {o.rows_loaded} would load, "
                   f"{o.rows_quarantined} would be quarantined, {o.rows_for_review} for review.")
        for rule, count in sorted(Counter(p.rule for p in o.problems).items()):
            typer.echo(f"  {rule}: {count}")
    outcome = verdict(outcomes)
    typer.echo(f"Report: {report}")
    raise typer.Exit(EXIT_CODES[outcome])
