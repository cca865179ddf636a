"""Ingest: copy the raw data set into `data/raw/`, untouched."""

from pathlib import Path

from .. import dataset
from ..params import Params
from ..settings import Settings
from .tables import write_table


def ingest(raw_file: Path) -> int:
    """Write the raw data set to `raw_file`; return the number of rows."""
    frame = dataset.load()
    write_table(frame, raw_file)
    return len(frame)


def run(settings: Settings, params: Params) -> str:
    rows = ingest(settings.raw_data_file)
    return f"wrote {settings.raw_data_file} ({rows} rows)"
