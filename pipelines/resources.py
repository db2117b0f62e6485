"""Dagster resources: the data folder and the DuckDB warehouse inside it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from onceonly.settings import DataFolder, data_folder
from warehouse.connection import open_warehouse


class Warehouse(dg.ConfigurableResource):
    """The data folder and its DuckDB file. Connections are opened per use and closed at once,
    so that no process holds the file longer than one asset needs it."""

    data_dir: str = ""  # empty: ONCEONLY_DATA_DIR, else ./data

    @property
    def folder(self) -> DataFolder:
        return data_folder(self.data_dir or None).ensure()

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with open_warehouse(self.folder.warehouse) as conn:
            yield conn

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with open_warehouse(self.folder.warehouse, read_only=True) as conn:
            yield conn
