"""Rows against the data module's declaration, with one-line errors: ingest checks the
raw data set, `score` each row group of the file it predicts."""

import pandas as pd
from pydantic import TypeAdapter, ValidationError

from . import dataset
from .errors import ProjectError

ROWS = TypeAdapter(list[dataset.Features])


def check_features(
    frame: pd.DataFrame, *, empty_cells: bool = True, where: str = ""
) -> None:
    """Raise ProjectError naming the first feature column that is missing or breaks its
    declared rule, the rule, and how many rows break it (`where`, if said). Rows with an
    empty cell are left out when `empty_cells` allows them (ingest leaves them to
    prepare, which drops them), else refused."""
    within = f" in {where}" if where else ""
    missing = [name for name in dataset.FEATURES if name not in frame]
    if missing:
        raise ProjectError(f"column {missing[0]!r}: missing (dataset.py declares it)")
    features = frame[list(dataset.FEATURES)]
    empty = features.isna().sum()
    if not empty_cells and empty.any():
        column = empty[empty > 0].index[0]
        raise ProjectError(
            f"column {column!r}: empty cells ({empty[column]} of {len(frame)} rows"
            f"{within})"
        )
    try:
        ROWS.validate_python(features.dropna().to_dict("records"))
    except ValidationError as error:
        problems = [(problem["loc"][1], problem["msg"]) for problem in error.errors()]
        column, rule = problems[0]
        breaking = problems.count((column, rule))
        raise ProjectError(
            f"column {column!r}: {rule} ({breaking} of {len(frame)} rows{within})"
        ) from None
