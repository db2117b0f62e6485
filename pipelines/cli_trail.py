"""`onceonly trail ID`: every export and alert that included a person."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from onceonly.identity import mask_id


def trail(
    id_number: Annotated[str, typer.Argument(help="The person's ID number (18 or 15 digits).")],
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="The data folder.")] = None,
) -> None:
    """List every exported workbook and every alert that included a person, for audits and for
    answering the person. The ID is shown masked; the list itself names files, not people."""
    from onceonly.privacy import trail as find_trail
    from onceonly.settings import data_folder
    from warehouse.connection import open_warehouse

    folder = data_folder(data_dir)
    if not folder.warehouse.exists():
        typer.echo(f"onceonly: there is no warehouse in {folder.root} yet; run the pipeline "
                   "first.", err=True)
        raise typer.Exit(1)
    with open_warehouse(folder.warehouse, read_only=True) as conn:
        try:
            person, entries = find_trail(conn, id_number)
        except ValueError as err:
            typer.echo(f"onceonly: {err}", err=True)
            raise typer.Exit(1) from None
    exports = [e for e in entries if e.kind == "export"]
    alerts = [e for e in entries if e.kind == "alert"]
    typer.echo(f"Trail of {mask_id(person)}: {len(exports)} exported workbook(s), "
               f"{len(alerts)} alert(s).")
    for e in entries:
        where = e.path or "(no file recorded)"
        typer.echo(f"  {e.period}  {e.kind:<6}  {e.subdistrict_code}  {e.what}  {where}"
                   + (f"  written {e.written_at}" if e.written_at else ""))
