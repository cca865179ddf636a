"""The example data set: Fisher's iris flowers, shipped inside scikit-learn.

Replace this module (and `pipeline/ingest.py`) to work on your own data; the rest of the
pipeline only relies on FEATURES and TARGET.
"""

import pandas as pd
from sklearn.datasets import load_iris

FEATURES = ("sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm")
TARGET = "species"


def load() -> pd.DataFrame:
    """Return one row per flower: the four measurements and the species name."""
    bunch = load_iris()
    frame = pd.DataFrame(bunch.data, columns=list(FEATURES))
    frame[TARGET] = [str(bunch.target_names[code]) for code in bunch.target]
    return frame
