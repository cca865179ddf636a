"""Run pipeline steps, skipping those that are up to date.

A step is up to date when its code, the parameters it reads and the content of its
input files are what they were when it last ran, and its outputs are still the files
it wrote. What each step last saw is recorded in the lock file (`pipeline.lock`, like
`dvc.lock`): small, readable JSON that is safe to commit.
"""

import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import ProjectError
from ..files import write_json
from ..params import Params
from ..settings import Settings
from . import STEPS, Step


class Outcome(NamedTuple):
    step: str
    ran: bool
    summary: str


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record(step: Step, settings: Settings, params: Params) -> dict[str, Any]:
    """What the step depends on now: code, parameters and input files."""
    values = params.model_dump()
    return {
        "code": digest(step.source),
        "params": {name: values[name] for name in step.params},
        "inputs": {str(path): digest(path) for path in step.inputs(settings)},
    }


def written(step: Step, settings: Settings) -> dict[str, str | None]:
    """The step's outputs as they are now (None for a missing file)."""
    return {
        str(path): digest(path) if path.is_file() else None
        for path in step.outputs(settings)
    }


def run(
    settings: Settings,
    params: Params,
    steps: Sequence[Step] = STEPS,
    *,
    force: bool = False,
    start: str | None = None,
) -> Iterator[Outcome]:
    """Run or skip each step in order, yielding what happened to it.

    `force` runs every step; `start` runs that step and every one after it.
    """
    names = [step.name for step in steps]
    if start is not None and start not in names:
        raise ProjectError(f"--from {start!r}: choose one of {', '.join(names)}")
    lock_file = settings.lock_file
    lock: dict[str, Any] = (
        json.loads(lock_file.read_text()) if lock_file.is_file() else {}
    )
    forced = force
    for step in steps:
        forced = forced or step.name == start
        missing = [path for path in step.inputs(settings) if not path.is_file()]
        if missing:
            raise ProjectError(
                f"{step.name}: {missing[0]} does not exist: run the earlier steps first"
            )
        now = record(step, settings, params)
        previous = lock.get(step.name, {})
        if not forced and previous == {**now, "outputs": written(step, settings)}:
            yield Outcome(step.name, ran=False, summary="up to date")
            continue
        summary = step.run(settings, params)
        lock[step.name] = {**now, "outputs": written(step, settings)}
        write_json(lock, lock_file)
        yield Outcome(step.name, ran=True, summary=summary)
