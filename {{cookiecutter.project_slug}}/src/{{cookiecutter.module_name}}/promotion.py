"""The champion/challenger gate: a newly trained model (the challenger) replaces the
model that serves (the champion) only when it passes the accuracy floor and is not
worse than the champion on the same test set.

A challenger of another data set (other features or classes) is never compared:
`promote` serves it on purpose.
"""

import math
from typing import NamedTuple, TypedDict

from .model import TrainedModel


class Decision(TypedDict):
    """What evaluate decided about the challenger (reports/promotion.json)."""

    promoted: bool
    challenger: str  # its version: NAME/N in the registry, else its file's hash
    challenger_accuracy: float
    champion: str | None  # None when no model served before it
    champion_accuracy: float | None
    reason: str  # the decision in one line


class Contender(NamedTuple):
    version: str
    model: TrainedModel
    # On the test set that evaluate reads; NaN when that set lacks the model's
    # features (a model of another data set, which is not compared).
    accuracy: float


def same_declaration(challenger: TrainedModel, champion: TrainedModel) -> bool:
    """Whether both models take the same features and answer the same classes."""
    return set(challenger.features) == set(champion.features) and set(
        challenger.classes
    ) == set(champion.classes)


def decide(
    challenger: Contender,
    champion: Contender | None,
    min_accuracy: float,
    max_regression: float,
    *,
    rolled_back: bool = False,
) -> Decision:
    """Decide whether the challenger becomes the champion, and say why in one line.

    A challenger that `rollback` took the champion's place from is not promoted again
    by the gate: only `promote` does that.
    """
    promoted, reason = verdict(challenger, champion, min_accuracy, max_regression)
    if promoted and rolled_back and champion is not None:
        promoted = False
        held = champion.version
        reason = f"kept champion {held}: {challenger.version} was rolled back"
    return Decision(
        promoted=promoted,
        challenger=challenger.version,
        challenger_accuracy=challenger.accuracy,
        champion=None if champion is None else champion.version,
        champion_accuracy=(
            None
            if champion is None or math.isnan(champion.accuracy)
            else champion.accuracy
        ),
        reason=reason,
    )


def verdict(
    challenger: Contender,
    champion: Contender | None,
    min_accuracy: float,
    max_regression: float,
) -> tuple[bool, str]:
    new, accuracy = challenger.version, challenger.accuracy
    kept = "nothing serves" if champion is None else f"kept champion {champion.version}"
    if accuracy < min_accuracy:
        return False, (
            f"{kept}: challenger accuracy {accuracy:.3f} is below"
            f" evaluate.min_accuracy {min_accuracy}"
        )
    if champion is None:
        return True, f"promoted {new}: no champion yet"
    if not same_declaration(challenger.model, champion.model):
        return False, (
            f"{kept}: challenger {new} has other features or classes (another data"
            " set), so they are not compared; `promote` serves it on purpose"
        )
    if new == champion.version:
        return True, f"{new} is the champion already"
    scores = f"challenger accuracy {accuracy:.3f} vs champion {champion.accuracy:.3f}"
    if accuracy < champion.accuracy - max_regression:
        return False, f"{kept}: {scores}"
    return True, f"promoted {new}: {scores} (promote.max_regression {max_regression:g})"
