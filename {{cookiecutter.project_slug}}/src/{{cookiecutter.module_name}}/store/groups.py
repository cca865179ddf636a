"""How predictions are kept: the predictions of one model call, as one record.

Requests that arrive together share one call to the model (serving/predictions.py), and
their predictions are stored together, by columns: a thousand predictions serialize in
one call, numpy arrays as they are, for a fraction of what a record per prediction
costs. A prediction's id is its group's id followed by 16 hex digits of its own, both
random: the id leads to the group, and no id in a group can be guessed from another.
"""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
import orjson

from .. import speed
from ..dataset import Features
from .records import StoredPrediction

GROUP_ID_LENGTH = 16  # hex digits, the same again for each prediction


def group_id_of(prediction_id: str) -> str:
    return prediction_id[:GROUP_ID_LENGTH]


def new_ids(count: int) -> tuple[str, list[str]]:
    """Return a new group's id and its predictions' ids."""
    size = GROUP_ID_LENGTH // 2  # bytes
    group_id = secrets.token_hex(size)
    return group_id, speed.random_ids(group_id, count, size)


@dataclass(frozen=True, slots=True)
class PredictionGroup:
    """The predictions of one model call: a row of `inputs` and `probabilities` each."""

    id: str
    model_version: str
    created_at: str
    features: Sequence[str]
    classes: Sequence[str]
    ids: Sequence[str]
    labels: Sequence[str]
    inputs: np.ndarray  # rows x features
    probabilities: np.ndarray  # rows x classes

    def __len__(self) -> int:
        return len(self.ids)

    def record(self) -> bytes:
        """Return the group as JSON."""
        return orjson.dumps(self, option=orjson.OPT_SERIALIZE_NUMPY)

    @classmethod
    def from_record(cls, record: bytes | str) -> "PredictionGroup":
        fields: dict[str, Any] = orjson.loads(record)
        matrices = {
            name: np.array(fields[name]) for name in ("inputs", "probabilities")
        }
        return cls(**{**fields, **matrices})

    def prediction(self, prediction_id: str) -> StoredPrediction | None:
        """Return one prediction of the group; None if it has no such id."""
        try:
            row = self.ids.index(prediction_id)
        except ValueError:
            return None
        return self._stored(row)

    def without(self, prediction_id: str) -> "PredictionGroup | None":
        """The group less one of its predictions; None if that was the last one."""
        row = self.ids.index(prediction_id)
        if len(self) == 1:
            return None
        return replace(
            self,
            ids=[*self.ids[:row], *self.ids[row + 1 :]],
            labels=[*self.labels[:row], *self.labels[row + 1 :]],
            inputs=np.delete(self.inputs, row, axis=0),
            probabilities=np.delete(self.probabilities, row, axis=0),
        )

    def predictions(self, limit: int) -> list[StoredPrediction]:
        """Return up to `limit` of the group's predictions, the last made first."""
        last = range(len(self) - 1, max(len(self) - limit, 0) - 1, -1)
        return [self._stored(row) for row in last]

    def _stored(self, row: int) -> StoredPrediction:
        [probabilities] = speed.dicts(self.classes, self.probabilities[row : row + 1])
        [features] = speed.dicts(self.features, self.inputs[row : row + 1])
        return {
            "prediction_id": self.ids[row],
            "label": self.labels[row],
            "probabilities": probabilities,
            "model_version": self.model_version,
            "input": cast(Features, features),  # the model's features, as stored
            "created_at": self.created_at,
            "feedback": None,
        }
