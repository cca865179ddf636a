"""Ingest: check the raw data set against the data module's declaration, then copy it
into `data/raw/`, untouched."""

from pathlib import Path

import pandas as pd
from pydantic import TypeAdapter, ValidationError

from .. import dataset
from ..errors import ProjectError
from ..params import Params
from ..settings import Settings
from .tables import write_table

ROWS = TypeAdapter(list[dataset.Features])


def check(frame: pd.DataFrame) -> None:
    """Raise ProjectError naming the first column that breaks its declared rule, the
    rule, and how many rows break it. Rows with an empty cell are left to prepare,
    which drops them."""
    columns = (*dataset.FEATURES, dataset.TARGET)
    missing = [name for name in columns if name not in frame]
    if missing:
        raise ProjectError(f"column {missing[0]!r}: missing (dataset.py declares it)")
    complete = frame[list(dataset.FEATURES)].dropna()
    try:
        ROWS.validate_python(complete.to_dict("records"))
    except ValidationError as error:
        problems = [(problem["loc"][1], problem["msg"]) for problem in error.errors()]
        column, rule = problems[0]
        breaking = problems.count((column, rule))
        raise ProjectError(
            f"column {column!r}: {rule} ({breaking} of {len(frame)} rows)"
        ) from None
    labels = frame[dataset.TARGET].dropna().astype(str)
    unknown = labels[~labels.isin(dataset.CLASSES)]
    if len(unknown):
        raise ProjectError(
            f"column {dataset.TARGET!r}: must be one of {', '.join(dataset.CLASSES)},"
            f" not {unknown.iloc[0]!r} ({len(unknown)} of {len(frame)} rows)"
        )


def ingest(raw_file: Path) -> int:
    """Check the raw data set and write it to `raw_file`; return the number of rows."""
    frame = dataset.load()
    check(frame)
    write_table(frame, raw_file)
    return len(frame)


def run(settings: Settings, params: Params) -> str:
    rows = ingest(settings.raw_data_file)
    return f"wrote {settings.raw_data_file} ({rows} rows)"
