"""What tests derive from the project's own declarations, so that they survive its
users' edits: rows from the data module, a changed value from params.yaml.

Tests start from the data module's `EXAMPLE` row. `labelled_frame()` makes a small data
set from the declared ranges, one tight cluster per class, that any estimator learns:
conftest.py serves it as the data set's `load()`, since the real one may read a file
that a checkout does not have.
"""

from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import TypeAdapter

from {{ cookiecutter.module_name }}.dataset import (
    CLASSES,
    FEATURES,
    TARGET,
    Features,
)
from {{ cookiecutter.module_name }}.params import Params

# A side of a range left open is closed this far from the other side.
OPEN_SPAN = 100.0


def schema(feature: str) -> dict[str, Any]:
    """Return a feature's JSON schema: its type and declared bounds."""
    found: dict[str, Any] = TypeAdapter(Features).json_schema()["properties"][feature]
    return found


def span(feature: str) -> tuple[float, float]:
    """Return the declared range of a feature, open sides closed at OPEN_SPAN."""
    declared = schema(feature)
    low = declared.get("minimum", declared.get("exclusiveMinimum"))
    high = declared.get("maximum", declared.get("exclusiveMaximum"))
    if low is None:
        low = -OPEN_SPAN if high is None else high - OPEN_SPAN
    if high is None:
        high = low + OPEN_SPAN
    return float(low), float(high)


def outside_range() -> tuple[str, float]:
    """Return a feature with a declared bound, and a value beyond it; skip the test
    when no feature declares one."""
    for feature in FEATURES:
        declared = schema(feature)
        low, high = span(feature)
        if "maximum" in declared or "exclusiveMaximum" in declared:
            return feature, high + (high - low)
        if "minimum" in declared or "exclusiveMinimum" in declared:
            return feature, low - (high - low)
    pytest.skip("no feature of dataset.py declares a range")


def row_of(label: str) -> dict[str, Any]:
    """A generated row of class `label`: a model trained on labelled_frame() predicts
    that class for it."""
    frame = labelled_frame()
    found = frame[frame[TARGET] == label].iloc[0]
    return {feature: found[feature].item() for feature in FEATURES}


def labelled_frame(rows_per_class: int = 40, seed: int = 0) -> pd.DataFrame:
    """Return rows within the declared ranges: class k clusters around the point
    (k + 1) / (classes + 1) of the way along every feature's range."""
    random = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for feature in FEATURES:
        low, high = span(feature)
        width = high - low
        values = []
        for k in range(len(CLASSES)):
            centre = low + width * (k + 1) / (len(CLASSES) + 1)
            noise = random.normal(0, width / (len(CLASSES) + 1) / 10, rows_per_class)
            values.append(
                np.clip(centre + noise, low + width / 100, high - width / 100)
            )
        column = np.concatenate(values).round(3)
        integer = schema(feature).get("type") == "integer"
        columns[feature] = column.round().astype(int) if integer else column
    columns[TARGET] = np.repeat(CLASSES, rows_per_class)
    return pd.DataFrame(columns)


def retuned(params: Params) -> tuple[str, Params]:
    """Return the name of the estimator's first numeric parameter, and the parameters
    with that value doubled: a change whatever estimator and values params.yaml holds.
    """
    estimator = params.train.estimator
    name, value = next(
        (name, value)
        for name, value in estimator.model_dump().items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    )
    changed = estimator.model_copy(update={name: 2 * value})
    train = params.train.model_copy(update={"estimator": changed})
    return name, params.model_copy(update={"train": train})


def unlearnable_frame() -> pd.DataFrame:
    """labelled_frame() with its labels shuffled across rows: no model learns them
    all, so it fails an accuracy floor of 1."""
    frame = labelled_frame()
    frame[TARGET] = frame[TARGET].sample(frac=1, random_state=0).to_numpy()
    return frame
