"""The data set, declared once: Fisher's iris flowers, shipped inside scikit-learn.

Everything else derives from this module: ingest checks the raw data against it, and the
API's request schema and example, `predict` on the command line, the drift report, the
load test, the benchmarks and the tests all read it. To work on your own data, edit this
module (and the estimator in configs/params.yaml): course chapter 16 shows how.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

if TYPE_CHECKING:
    import pandas as pd

# Names the raw file (data/raw/iris.csv) and the registered model: another data set
# gets a registered model of its own instead of becoming a version of this one.
NAME = "iris"

# Files that `load()` reads, if any: ingest runs again when one of them changes.
SOURCE_FILES: tuple[Path, ...] = ()

# A measurement: a finite number, never a string ("5") or a boolean passing for one.
Centimetres = Annotated[float, Field(gt=0, le=100, allow_inf_nan=False, strict=True)]

# One typical row: the API's documented example, and the row the tests start from.
EXAMPLE = {
    "sepal_length_cm": 5.1,
    "sepal_width_cm": 3.5,
    "petal_length_cm": 1.4,
    "petal_width_cm": 0.2,
}


@with_config(
    ConfigDict(extra="forbid", json_schema_extra={"examples": [dict(EXAMPLE)]})
)
class Features(TypedDict):
    """One flower's measurements: the model's input."""

    sepal_length_cm: Annotated[Centimetres, Field(description="Sepal length, in cm")]
    sepal_width_cm: Annotated[Centimetres, Field(description="Sepal width, in cm")]
    petal_length_cm: Annotated[Centimetres, Field(description="Petal length, in cm")]
    petal_width_cm: Annotated[Centimetres, Field(description="Petal width, in cm")]


FEATURES = tuple(Features.__annotations__)

# The label to predict, and its values.
TARGET = "species"
CLASSES = ("setosa", "versicolor", "virginica")


def load() -> "pd.DataFrame":
    """Return the raw data: one row per flower, the FEATURES and the TARGET."""
    import pandas as pd
    from sklearn.datasets import load_iris

    bunch = load_iris()
    frame = pd.DataFrame(bunch.data, columns=list(FEATURES))
    frame[TARGET] = [str(bunch.target_names[code]) for code in bunch.target]
    return frame
