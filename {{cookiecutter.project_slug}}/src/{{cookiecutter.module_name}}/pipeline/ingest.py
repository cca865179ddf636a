"""Ingest: check the raw data set against the data module's declaration, then copy it
into `data/raw/`, untouched, with the labelled feedback that `snapshot` wrote (if any)
appended as rows of the same columns."""

from pathlib import Path

import pandas as pd
from pydantic import TypeAdapter, ValidationError

from .. import dataset
from ..errors import ProjectError
from ..params import Params
from ..settings import Settings
from .tables import read_table, write_table

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


def ingest(raw_file: Path, feedback_file: Path | None = None) -> tuple[int, int]:
    """Check the data set, and the feedback when there is a file of it, and write them
    to `raw_file`; return the number of rows, and how many came from feedback."""
    frame = dataset.load()
    check(frame)
    labelled = pd.DataFrame(columns=frame.columns)
    if feedback_file is not None and feedback_file.is_file():
        labelled = read_table(feedback_file, [*dataset.FEATURES, dataset.TARGET])
        check(labelled)
        labelled = labelled[[*dataset.FEATURES, dataset.TARGET]]
        frame = pd.concat([frame, labelled], ignore_index=True)
    write_table(frame, raw_file)
    return len(frame), len(labelled)


def run(settings: Settings, params: Params) -> str:
    rows, labelled = ingest(settings.raw_data_file, settings.feedback_file)
    added = f", {labelled} from feedback" if labelled else ""
    return f"wrote {settings.raw_data_file} ({rows} rows{added})"
