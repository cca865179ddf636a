"""The pipeline: four file-in/file-out steps, run in this order.

Each step module has a pure function (files and parameters in, files out), a `run`
adapter that takes its paths from the settings and returns a one-line summary, and a
declaration of what it depends on: `PARAMS` (the sections of params.yaml it reads),
`inputs()` and `outputs()`. The runner (runner.py) uses that declaration to skip a step
whose inputs, parameters and code have not changed since it last ran.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ..params import Params
from ..settings import Settings
from . import evaluate, ingest, prepare, train


@dataclass(frozen=True)
class Step:
    name: str
    summary: str
    run: Callable[[Settings, Params], str]
    params: tuple[str, ...]
    inputs: Callable[[Settings], list[Path]]
    outputs: Callable[[Settings], list[Path]]
    source: Path

    @classmethod
    def from_module(cls, module: ModuleType) -> "Step":
        return cls(
            name=module.__name__.rpartition(".")[2],
            summary=(module.__doc__ or "").strip(),
            run=module.run,
            params=module.PARAMS,
            inputs=module.inputs,
            outputs=module.outputs,
            source=Path(str(module.__file__)),
        )


STEPS = tuple(Step.from_module(module) for module in (ingest, prepare, train, evaluate))
