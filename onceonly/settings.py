"""Where runtime data lives: one data folder, `./data` unless ONCEONLY_DATA_DIR moves it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "ONCEONLY_DATA_DIR"


@dataclass(frozen=True, slots=True)
class DataFolder:
    """The layout of the data folder. Nothing under it is ever committed to git."""

    root: Path

    @property
    def inbox(self) -> Path:
        """Department extracts and returned workbooks are dropped here."""
        return self.root / "inbox"

    @property
    def truth(self) -> Path:
        """What the sample-district generator planted, kept apart from the inbox."""
        return self.root / "truth"

    @property
    def staging(self) -> Path:
        """UTF-8 copies of accepted extracts, named by content hash."""
        return self.root / "staging"

    @property
    def warehouse(self) -> Path:
        """The DuckDB database file."""
        return self.root / "warehouse" / "onceonly.duckdb"

    @property
    def exports(self) -> Path:
        """Workbooks and lists sent to subdistricts, by month then subdistrict."""
        return self.root / "exports"

    @property
    def reports(self) -> Path:
        """Validation reports, correction lists, catalogue reports and Data Docs."""
        return self.root / "reports"

    @property
    def parquet(self) -> Path:
        """Pool tables published as Parquet for other engines."""
        return self.root / "parquet"

    @property
    def dagster_home(self) -> Path:
        """DAGSTER_HOME: Dagster's SQLite run, event and schedule storage."""
        return self.root / "dagster"

    def ensure(self) -> DataFolder:
        """Create the folders that must exist before anything runs."""
        for folder in (self.inbox, self.truth, self.staging, self.warehouse.parent, self.exports,
                       self.reports, self.parquet, self.dagster_home):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def data_folder(override: str | os.PathLike[str] | None = None) -> DataFolder:
    """The data folder: the override if given, else ONCEONLY_DATA_DIR, else ./data."""
    chosen = override or os.environ.get(DATA_DIR_ENV) or "data"
    return DataFolder(Path(chosen).expanduser().resolve())
