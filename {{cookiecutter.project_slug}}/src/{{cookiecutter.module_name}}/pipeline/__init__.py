"""The pipeline: four file-in/file-out steps, run in this order.

Each step module has a pure function (files and parameters in, files out) and a `run`
adapter that takes its paths from the settings and returns a one-line summary.
"""

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from ..params import Params
from ..settings import Settings
from . import evaluate, ingest, prepare, train


@dataclass(frozen=True)
class Step:
    name: str
    summary: str
    run: Callable[[Settings, Params], str]

    @classmethod
    def from_module(cls, module: ModuleType) -> "Step":
        return cls(
            name=module.__name__.rpartition(".")[2],
            summary=(module.__doc__ or "").strip(),
            run=module.run,
        )


STEPS = tuple(Step.from_module(module) for module in (ingest, prepare, train, evaluate))
