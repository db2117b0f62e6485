"""`onceonly forms ...`: the form catalogue, its issue decisions, and the admission review."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

forms_app = typer.Typer(name="forms", help="The form catalogue: review, govern and assess forms.",
                        no_args_is_help=True)


@forms_app.command("assess")
def assess_command(
    files: Annotated[list[Path], typer.Argument(help="Proposed form definitions (YAML).")],
) -> None:
    """Report which fields of proposed forms the pool can fill, the overlap with existing forms
    and a merge proposal with the number of fields saved."""
    from onceonly.forms.assessment import assess, assessment_lines
    from onceonly.forms.catalogue import FormDefinitionError, catalogue, load_form

    proposals = []
    for path in files:
        if not path.is_file():
            typer.echo(f"onceonly: {path} does not exist; give the path of a form YAML file.",
                       err=True)
            raise typer.Exit(1)
        try:
            proposals.append(load_form(path))
        except FormDefinitionError as err:
            typer.echo(f"onceonly: {err}", err=True)
            raise typer.Exit(1) from None
    forms = catalogue()
    for line in assessment_lines(assess(proposals, forms), forms):
        typer.echo(line)


@forms_app.command("catalogue")
def catalogue_command(
    on: Annotated[str | None, typer.Option(help="Date YYYY-MM-DD (default: today).")] = None,
) -> None:
    """List every form with its status and whether it may be issued on a date, and the share
    of fields prefilled of the forms that are issued."""
    from onceonly.forms.catalogue import catalogue
    from onceonly.forms.governance import decide_all
    from onceonly.forms.issuing import prefill_share

    try:
        day = dt.date.fromisoformat(on) if on else dt.date.today()
    except ValueError:
        typer.echo(f"onceonly: {on!r} is not a date; write it as YYYY-MM-DD.", err=True)
        raise typer.Exit(1) from None
    forms = catalogue()
    decisions = decide_all(forms, day)
    for d in decisions:
        typer.echo(f"{d.form_id:<26} v{d.version:<5} {d.status:<10} "
                   f"{'issue' if d.issue else 'not issued: ' + d.decision:<28} {d.title}")
    rows, overall = prefill_share([f for f, d in zip(forms, decisions, strict=True) if d.issue])
    for r in rows:
        typer.echo(f"  prefilled {r['prefilled']:>2}/{r['fields']:<2} ({r['share']:.1%}) "
                   f"{r['title']}")
    typer.echo(f"Overall {overall:.1%} of the issued forms' fields are prefilled.")
