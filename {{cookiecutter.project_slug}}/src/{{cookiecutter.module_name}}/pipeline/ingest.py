"""Ingest: check the raw data set against the data module's declaration, then copy it
into `data/raw/`, untouched, with the labelled feedback that `snapshot` wrote (if any)
appended as rows of the same columns."""

from pathlib import Path

import pandas as pd

from .. import dataset
from ..checks import check_features
from ..errors import ProjectError
from ..params import Params
from ..settings import Settings
from .tables import read_table, write_table


def check(frame: pd.DataFrame) -> None:
    """Raise ProjectError naming the first column that breaks its declared rule, the
    rule, and how many rows break it (checks.py). Rows with an empty cell are left to
    prepare, which drops them."""
    check_features(frame)
    if dataset.TARGET not in frame:
        raise ProjectError(
            f"column {dataset.TARGET!r}: missing (dataset.py declares it)"
        )
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
