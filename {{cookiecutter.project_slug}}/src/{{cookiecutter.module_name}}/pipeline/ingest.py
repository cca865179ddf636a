"""Ingest: copy the raw data set into `data/raw/`, untouched."""

from pathlib import Path

from .. import dataset
from ..files import write_table
from ..params import Params
from ..settings import Settings


def ingest(raw_file: Path) -> int:
    """Write the raw data set to `raw_file`; return the number of rows."""
    frame = dataset.load()
    write_table(frame, raw_file)
    return len(frame)


PARAMS: tuple[str, ...] = ()


def inputs(settings: Settings) -> list[Path]:
    return []


def outputs(settings: Settings) -> list[Path]:
    return [settings.raw_data_file]


def run(settings: Settings, params: Params) -> str:
    rows = ingest(settings.raw_data_file)
    return f"wrote {settings.raw_data_file} ({rows} rows)"
