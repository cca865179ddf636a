"""Run pipeline steps, skipping those that are up to date.

A step is up to date when its code, the versions of the libraries it declares, the
parameters it reads and the content of its input files are what they were when it last
ran, and its outputs are still the files it wrote. Its code is its own module plus every
project module that module imports, directly or not (read from the source, so editing
`dataset.py` reruns `ingest`). What each step last saw is recorded in the lock file
(`pipeline.lock`, like `dvc.lock`): small, readable JSON that is safe to commit.

One run at a time: a second run waits until the first has finished, then finds its
steps up to date.
"""

import ast
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from importlib.util import resolve_name
from pathlib import Path
from typing import Any, NamedTuple

from filelock import FileLock, Timeout

from ..errors import ProjectError
from ..files import digest, require, write_json
from ..params import Params
from ..settings import Settings
from . import STEPS, Step

log = logging.getLogger(__name__)

PACKAGE = __name__.partition(".")[0]
PACKAGE_DIR = Path(__file__).resolve().parents[1]


class Outcome(NamedTuple):
    step: str
    ran: bool
    summary: str


def source_file(module: str) -> Path | None:
    """Return the source of a module of this project, or None for any other."""
    package, *parts = module.split(".")
    if package != PACKAGE:
        return None
    base = PACKAGE_DIR.joinpath(*parts)
    for candidate in (base / "__init__.py", base.with_name(base.name + ".py")):
        if candidate.is_file():
            return candidate
    return None


def imported_by(module: str, source: Path) -> Iterator[str]:
    """Yield every module name that an import statement of `source` may load."""
    package = module if source.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source.read_bytes(), filename=str(source))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = resolve_name("." * node.level + (node.module or ""), package)
            yield base
            # `from . import dataset` imports a module, `from .x import f` a name.
            yield from (f"{base}.{alias.name}" for alias in node.names)


def code_of(step: Step) -> dict[str, str]:
    """Return the digests of the step's module and of the project modules it imports."""
    found: dict[str, str] = {}
    pending = [step.module]
    while pending:
        source = source_file(pending.pop())
        if source is None:
            continue
        name = source.relative_to(PACKAGE_DIR).as_posix()
        if name in found:
            continue
        found[name] = digest(source)
        parts = Path(name).with_suffix("").parts
        module = ".".join([PACKAGE, *parts]).removesuffix(".__init__")
        pending.extend(imported_by(module, source))
    return dict(sorted(found.items()))


def libraries_of(step: Step) -> dict[str, str]:
    versions = {"python": ".".join(map(str, sys.version_info[:2]))}
    for name in step.libraries:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def record(step: Step, settings: Settings, params: Params) -> dict[str, Any]:
    """Return what the step depends on now: code, libraries, parameters, inputs."""
    values = params.model_dump()
    try:
        inputs = {str(path): digest(require(path)) for path in step.inputs(settings)}
    except ProjectError as error:
        raise ProjectError(f"{step.name}: {error}") from None
    return {
        "code": code_of(step),
        "libraries": libraries_of(step),
        "params": {name: values[name] for name in step.params},
        "inputs": inputs,
    }


def written(step: Step, settings: Settings) -> dict[str, dict[str, str | None]]:
    """Return the step's outputs as they are now (None for a missing file)."""
    outputs = step.outputs(settings)
    return {"outputs": {str(p): digest(p) if p.is_file() else None for p in outputs}}


def read_lock(path: Path, *, force: bool) -> dict[str, dict[str, Any]]:
    """Return the lock file's records.

    A damaged file stops the run in one line, unless every step is forced to run.
    """
    if not path.is_file():
        return {}
    try:
        lock = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        problem = f"not valid JSON ({error})"
    else:
        if isinstance(lock, dict) and all(isinstance(v, dict) for v in lock.values()):
            return lock
        problem = "not a record of pipeline steps"
    if force:
        log.warning("%s is %s: writing it anew", path, problem)
        return {}
    raise ProjectError(
        f"{path} is {problem}: fix or delete it, or run with `--force` to write it anew"
    )


@contextmanager
def one_run_at_a_time(lock_file: Path) -> Iterator[None]:
    """Hold a file lock beside the lock file for the whole run."""
    mutex = FileLock(lock_file.with_name(f".{lock_file.stem}.running"))
    try:
        mutex.acquire(timeout=0)
    except Timeout:
        log.info("another pipeline run is under way: waiting for it to finish")
        mutex.acquire()
    try:
        yield
    finally:
        mutex.release()


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
    with one_run_at_a_time(lock_file):
        lock = read_lock(lock_file, force=force)
        forced = force
        for step in steps:
            forced = forced or step.name == start
            now = record(step, settings, params)
            if not forced and lock.get(step.name) == now | written(step, settings):
                yield Outcome(step.name, ran=False, summary="up to date")
                continue
            summary = step.run(settings, params)
            lock[step.name] = now | written(step, settings)
            write_json(lock, lock_file)
            yield Outcome(step.name, ran=True, summary=summary)
