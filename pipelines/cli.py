"""The `onceonly` command line."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.exceptions import TyperException

from onceonly.settings import DATA_DIR_ENV, DataFolder, data_folder
from pipelines.cli_bench import bench
from pipelines.cli_check import check
from pipelines.cli_forms import forms_app
from pipelines.cli_labour import labour_reroll
from pipelines.cli_trail import trail

app = typer.Typer(
    name="onceonly",
    help="Report only once: land department extracts, issue forms with data, run the aid "
    "sentinel.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Commands that live beside their domain's code.
app.command()(check)
app.command()(trail)
app.command()(bench)
app.command("labour-reroll")(labour_reroll)
app.add_typer(forms_app)


DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help=f"The data folder (default: ${DATA_DIR_ENV} or ./data)."),
]


def _folder(data_dir: Path | None) -> DataFolder:
    folder = data_folder(data_dir).ensure()
    os.environ[DATA_DIR_ENV] = str(folder.root)  # so that Dagster's resources agree
    return folder


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"onceonly: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the extracts into.")],
    people: Annotated[int, typer.Option(help="Residents in the sample district.")] = 20_000,
    months: Annotated[int, typer.Option(help="Months of extracts.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 7,
    start: Annotated[str, typer.Option(help="First month, YYYY-MM.")] = "2026-01",
    truth_dir: Annotated[
        Path | None, typer.Option(help="Where the planted truth goes (default: <out>/../truth).")
    ] = None,
) -> None:
    """Write a sample district's department extracts (and, apart, the truth planted in them)."""
    from onceonly.sample_district import generate as generate_district

    truth = truth_dir or out.resolve().parent / "truth"
    if truth.resolve() == out.resolve():
        fail("The truth folder must not be the extracts folder; choose another --truth-dir.")
    summary = generate_district(out, truth, people=people, months=months, seed=seed, start=start)
    typer.echo(f"Wrote {len(summary.files)} extract files to {out} and the planted truth to "
               f"{truth}.")


@app.command()
def run(
    month: Annotated[str | None, typer.Option(help="Month YYYY-MM (default: latest in inbox).")]
    = None,
    data_dir: DataDir = None,
) -> None:
    """Ingest what is in the inbox and materialise every asset for one month."""
    from onceonly.extracts.ingest import months_in_inbox

    folder = _folder(data_dir)
    available = months_in_inbox(folder.inbox)
    if month is None:
        if not available:
            fail(f"The inbox {folder.inbox} holds no extract named with a month (e.g. "
                 "死亡登记_202603.xlsx); put files there or run `onceonly demo`.")
        month = available[-1]
    _run_months(folder, [month])
    _print_summary(folder, [month])


@app.command()
def demo(
    people: Annotated[int, typer.Option(help="Residents in the sample district.")] = 20_000,
    months: Annotated[int, typer.Option(help="Months of extracts.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    data_dir: DataDir = None,
) -> None:
    """Generate the sample district into the inbox, run every month in order, print a summary."""
    from onceonly.extracts.ingest import months_in_inbox
    from onceonly.sample_district import generate as generate_district

    folder = _folder(data_dir)
    typer.echo(f"Generating a sample district of {people:,} residents, {months} months, into "
               f"{folder.inbox} ...")
    generate_district(folder.inbox, folder.truth, people=people, months=months, seed=seed)
    periods = months_in_inbox(folder.inbox)
    _run_months(folder, periods)
    _print_summary(folder, periods)


def _run_months(folder: DataFolder, periods: list[str]) -> None:
    from pipelines.runner import run_month

    for period in periods:
        typer.echo(f"--- {period}: landing extracts, pool, aid sentinel, forms")
        outcome = run_month(folder, period)
        if not outcome.success:
            fail(f"The run for {period} failed in {', '.join(outcome.failed_steps) or 'a step'}; "
                 f"the reason is in the log above and in the Dagster UI (run {outcome.run_id}).")


def _print_summary(folder: DataFolder, periods: list[str]) -> None:
    from pipelines.summary import summary_lines

    for line in summary_lines(folder, periods):
        typer.echo(line)


@app.command()
def ui(data_dir: DataDir = None) -> None:
    """Open the Dagster UI (webserver and daemon) on http://127.0.0.1:3000."""
    from pipelines.runner import PROJECT_ROOT, prepare_dagster_home

    folder = _folder(data_dir)
    prepare_dagster_home(folder)
    os.chdir(PROJECT_ROOT)
    dagster = Path(sys.executable).parent / "dagster"
    os.execv(str(dagster), [str(dagster), "dev", "-m", "pipelines.definitions",
                            "-h", "127.0.0.1", "-p", "3000"])





def main() -> None:
    """Run the command line; an unexpected error ends with one sentence, not a traceback.

    Set ONCEONLY_DEBUG=1 to see the traceback as well.
    """
    try:
        code = app(standalone_mode=False)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except TyperException as usage:  # a mistyped command or option: say so, as typer would
        usage.show()
        sys.exit(usage.exit_code)
    except typer.Abort:
        typer.echo("onceonly: stopped.", err=True)
        sys.exit(130)
    except Exception as err:  # the last line of defence for the exit status promise
        if os.environ.get("ONCEONLY_DEBUG"):
            raise
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        typer.echo(f"onceonly: {text} (set ONCEONLY_DEBUG=1 for details)", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
