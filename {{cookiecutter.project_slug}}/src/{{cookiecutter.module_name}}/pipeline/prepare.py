"""Prepare: clean the raw data and split it into a training and a test set."""

from pathlib import Path

from sklearn.model_selection import train_test_split

from ..dataset import FEATURES, TARGET
from ..params import Params, PrepareParams
from ..settings import Settings
from .tables import read_table, write_table


def prepare(
    raw_file: Path, train_file: Path, test_file: Path, params: PrepareParams, seed: int
) -> tuple[int, int]:
    """Drop incomplete and duplicate rows, then split stratified by class.

    Returns the number of training and test rows.
    """
    frame = read_table(raw_file, [*FEATURES, TARGET])
    frame = frame[[*FEATURES, TARGET]].dropna().drop_duplicates()
    train, test = train_test_split(
        frame, test_size=params.test_size, random_state=seed, stratify=frame[TARGET]
    )
    write_table(train, train_file)
    write_table(test, test_file)
    return len(train), len(test)


def run(settings: Settings, params: Params) -> str:
    train_rows, test_rows = prepare(
        settings.raw_data_file,
        settings.train_file,
        settings.test_file,
        params.prepare,
        params.seed,
    )
    return f"wrote {train_rows} training and {test_rows} test rows"
