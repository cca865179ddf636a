"""Bake the template with the real cookiecutter CLI and look at what came out.

Tests read like a spec: `project = bake(tmp_path, linter="ruff")`, then
`project.has_file(".flake8")`, `project.read("Makefile")`, `project.run("make", "check")`.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from port_for import get_port

TEMPLATE = Path(__file__).resolve().parents[1]
OPTIONS: dict[str, Any] = json.loads((TEMPLATE / "cookiecutter.json").read_text())
# The accepted answers of each question that has a fixed set: a list in cookiecutter.json
# (a menu), or a private `__NAME_choices` list behind a free-text question with a default.
CHOICES = {
    name.removeprefix("__").removesuffix("_choices"): value
    for name, value in OPTIONS.items()
    if isinstance(value, list) and (name[0] != "_" or name.endswith("_choices"))
}
QUESTIONS = [name for name in OPTIONS if not name.startswith("_")]

# Named option sets. Together they give every choice of every option at least once
# (test_options.py checks that), and they exercise answers that need escaping.
COMBINATIONS: dict[str, dict[str, str]] = {
    "defaults": {},
    "ruff-airflow": {
        "python_version": CHOICES["python_version"][1],
        "license": "BSD-3-Clause",
        "linter": "ruff",
        "experiment_tracking": "none",
        "orchestrator": "airflow",
    },
    "pip-apache": {
        "python_version": CHOICES["python_version"][-1],
        "license": "Apache-2.0",
        "package_manager": "pip",
        "experiment_tracking": "none",
    },
    "proprietary-quoted": {
        "project_name": 'Zoë\'s "Fraud" Scoring 🕵️',
        "description": 'Scores "risky" payments: <fast> & {simple} \\o/ *now* 🎉',
        "author_name": 'O\'Brien "Ana" \\ Co 🦊',
        "license": "Proprietary",
        "package_manager": "pip",
        "linter": "ruff",
        "orchestrator": "airflow",
    },
}

BIN = Path(sys.executable).parent
# The name under which the course test records its time per chapter for the summary.
SECONDS_PER_CHAPTER = "seconds per chapter"


def cpu_seconds() -> float:
    """User and system time of this process and of every child it has waited for (and
    of theirs): xdist's workers, the baked projects' commands and their servers."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def usable_cores() -> int:
    """The cores this process may run on (fewer than the machine's in a container or
    under an affinity mask, where the platform tells)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def tool_env(**extra: str) -> dict[str, str]:
    """The environment for commands run in a baked project.

    The template's own virtual environment comes first on PATH, so its uv, cookiecutter
    and git-hook tools are found whether or not that environment is activated.

    Python writes its bytecode cache, as on a reader's laptop or a GitHub runner: where
    a machine turns that off (PYTHONDONTWRITEBYTECODE, as some CI images do), every
    process compiles every module it imports again: a baked project's `make test` took
    120 s of CPU time instead of 80 s on a 2-core machine.
    """
    env = {**os.environ, **extra}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def cookiecutter(output_dir: Path, **answers: str) -> subprocess.CompletedProcess[str]:
    """Run `cookiecutter --no-input` on this template with the given answers."""
    arguments = [f"{name}={value}" for name, value in answers.items()]
    return subprocess.run(
        [BIN / "cookiecutter", "--no-input", "--output-dir", output_dir, TEMPLATE, *arguments],
        capture_output=True,
        text=True,
        env=tool_env(),
        check=False,
    )


def cookiecutter_prompted(output_dir: Path, replies: list[str]) -> BakedProject:
    """Answer cookiecutter's questions as a person would, one line per prompt, in order.

    Unlike answers given on the command line, typed answers are not Jinja templates, so
    `{{` in a description is kept as typed. An empty reply takes the default.
    """
    done = subprocess.run(
        [BIN / "cookiecutter", "--output-dir", output_dir, TEMPLATE],
        input="\n".join(replies) + "\n" * len(QUESTIONS),
        capture_output=True,
        text=True,
        env=tool_env(),
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"cookiecutter failed:\n{done.stdout}\n{done.stderr}")
    [path] = [child for child in output_dir.iterdir() if child.is_dir()]
    answers = dict(zip(QUESTIONS, replies, strict=False))
    return BakedProject(path=path, answers={k: v for k, v in answers.items() if v})


@dataclass(frozen=True)
class BakedProject:
    path: Path
    answers: dict[str, str]

    def option(self, name: str) -> str:
        """The answer given for `name`, or the template's default."""
        default = CHOICES[name][0] if name in CHOICES else str(OPTIONS[name])
        return self.answers.get(name, default)

    def has_file(self, relative: str) -> bool:
        return (self.path / relative).is_file()

    def read(self, relative: str) -> str:
        return (self.path / relative).read_text(encoding="utf-8")

    def files(self) -> set[str]:
        """Every file and folder below the project, as relative paths, git's own aside."""
        return {
            path.relative_to(self.path).as_posix()
            for path in self.path.rglob("*")
            if ".git" not in path.relative_to(self.path).parts
        }

    def run(self, *command: str, timeout: float = 600, **env: str) -> str:
        """Run a command in the project; fail the test with its output if it fails."""
        done = subprocess.run(
            command,
            cwd=self.path,
            capture_output=True,
            text=True,
            env=tool_env(**env),
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"`{' '.join(command)}` exited {done.returncode} in {self.path}\n"
                f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
            )
        return done.stdout

    @property
    def module(self) -> str:
        return self.path.name.replace("-", "_")

    def example(self, python: str = ".venv/bin/python") -> dict[str, float]:
        """The API's documented example request, read from the installed project."""
        dataset = f"{self.module}.dataset"
        code = f"import json; from {dataset} import EXAMPLE; print(json.dumps(EXAMPLE))"
        example: dict[str, float] = json.loads(self.run(python, "-c", code))
        return example


def bake(output_dir: Path, **answers: str) -> BakedProject:
    """Generate a project; fail the test with cookiecutter's output if that fails."""
    done = cookiecutter(output_dir, **answers)
    if done.returncode != 0:
        raise AssertionError(f"cookiecutter failed:\n{done.stdout}\n{done.stderr}")
    [path] = [child for child in output_dir.iterdir() if child.is_dir() and child.name[0] != "."]
    return BakedProject(path=path, answers=answers)


def free_port() -> int:
    port = get_port(None)
    assert port is not None
    return port


def wait_until(ready: Callable[[], bool], what: str, seconds: float = 30) -> None:
    """Poll `ready()` until it returns true; fail the test after `seconds`."""
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} was not ready after {seconds} s")
        time.sleep(0.1)


def needed(tool: str, install: str) -> str:
    """The path of a tool the test needs: skipped without it, except under CI."""
    found = shutil.which(tool)
    if found is None:
        reason = f"{tool} is not installed ({install})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI must run this test")
        pytest.skip(reason)
    return found
