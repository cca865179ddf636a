"""The pipeline: four file-in/file-out steps, run in this order.

Each step is declared here with what decides its outputs: the sections of params.yaml
it reads, its input and output files, and the libraries whose version matters. The code
it depends on is found by the runner: the step's module (named like the step) and every
project module that module imports. The runner skips a step when none of these changed
since its last run (runner.py); the step's module is only imported to run it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..params import Params
    from ..settings import Settings

Files = Callable[["Settings"], list[Path]]


@dataclass(frozen=True)
class Step:
    name: str
    summary: str
    params: tuple[str, ...]
    inputs: Files
    outputs: Files
    libraries: tuple[str, ...]

    @property
    def module(self) -> str:
        """Return the module that implements the step: `run(settings, params)`."""
        return f"{__name__}.{self.name}"

    def run(self, settings: "Settings", params: "Params") -> str:
        """Run the step; return a one-line summary of what it wrote."""
        run: Callable[[Settings, Params], str] = import_module(self.module).run
        return run(settings, params)


def source_files(settings: "Settings") -> list[Path]:
    """The files that the data module's `load()` reads, and the labelled feedback
    that `snapshot` wrote, if any."""
    from ..dataset import SOURCE_FILES  # here, so that `--help` never loads pydantic

    feedback = settings.feedback_file
    return [*SOURCE_FILES, *([feedback] if feedback.is_file() else [])]


STEPS = (
    Step(
        name="ingest",
        summary="Check the data set and the labelled feedback; copy them to data/raw/.",
        params=(),
        inputs=source_files,
        outputs=lambda s: [s.raw_data_file],
        libraries=("pandas", "pydantic", "scikit-learn"),
    ),
    Step(
        name="prepare",
        summary="Clean the raw data and split it into a training and a test set.",
        params=("seed", "prepare"),
        inputs=lambda s: [s.raw_data_file],
        outputs=lambda s: [s.train_file, s.test_file],
        libraries=("numpy", "pandas", "scikit-learn"),
    ),
    Step(
        name="train",
        summary="Fit a new model on the training set; save it and its ONNX export.",
        params=("seed", "train"),
        inputs=lambda s: [s.train_file],
        outputs=lambda s: [s.candidate_file, s.candidate_onnx_file],
        libraries=("joblib", "numpy", "onnx", "pandas", "scikit-learn", "skl2onnx"),
    ),
    Step(
        name="evaluate",
        summary="Serve the new model if it beats or ties the champion; write its card.",
        params=("evaluate", "promote"),
        inputs=lambda s: [s.candidate_file, s.test_file],
        outputs=lambda s: [
            s.model_file,
            s.onnx_file,
            s.metrics_file,
            s.model_card_file,
            s.onnx_parity_file,
            s.promotion_file,
        ],
        libraries=("joblib", "numpy", "onnxruntime", "pandas", "scikit-learn"),
    ),
)
