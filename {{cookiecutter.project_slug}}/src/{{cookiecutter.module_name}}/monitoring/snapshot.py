"""`snapshot`: the stored predictions whose true label arrived as feedback, written as
training data that ingest adds to the data set (`data/feedback/<NAME>.csv`).

Each row is a prediction's input and its true label, with where it came from: the
prediction's id, the model version that answered, when it was predicted and when it
was labelled. A snapshot keeps the rows of earlier ones and adds the new: one row per
prediction (a replaced feedback replaces its row), sorted by id, so that the same
predictions always give the same file, and the pipeline reruns only when it changes.

Anyone who holds the API key can send feedback: training on it trusts those clients.
The rows also outlive the predictions they copy: a prediction erased from the store
(DELETE /predictions/{id}) must be erased from this file too.
"""

import pandas as pd

from ..dataset import FEATURES, TARGET
from ..pipeline.tables import read_table, write_table
from ..settings import Settings
from .report import read_recent

PROVENANCE = ["prediction_id", "model_version", "predicted_at", "labelled_at"]
# The most recent stored predictions a snapshot reads (feedback on older ones is
# rare): enough for weeks of a busy API, and a few hundred MB at most to read.
READ_LIMIT = 200_000


def snapshot(settings: Settings) -> str:
    """Add the labelled predictions to the feedback file; return a one-line summary."""
    rows = [
        {
            **stored["input"],
            TARGET: feedback["label"],
            "prediction_id": stored["prediction_id"],
            "model_version": stored["model_version"],
            "predicted_at": stored["created_at"],
            "labelled_at": feedback["received_at"],
        }
        for stored in read_recent(settings, READ_LIMIT)
        if (feedback := stored["feedback"]) is not None
    ]
    columns = [*FEATURES, TARGET, *PROVENANCE]
    path = settings.feedback_file
    earlier = read_table(path, columns)[columns] if path.is_file() else None
    frame = pd.DataFrame(rows, columns=columns)
    if earlier is not None:
        frame = pd.concat([earlier, frame], ignore_index=True)
    frame = frame.drop_duplicates("prediction_id", keep="last")
    frame = frame.sort_values("prediction_id", ignore_index=True)
    write_table(frame, path)
    new = len(frame) - (0 if earlier is None else len(earlier))
    return f"wrote {path} ({len(frame)} labelled predictions, {new} new)"
