"""Bake the template with the real cookiecutter CLI and look at what came out.

Tests read like a spec: `project = bake(tmp_path, linter="ruff")`, then
`project.has_file(".flake8")`, `project.read("Makefile")`, `project.run("make", "check")`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parents[1]
OPTIONS: dict[str, Any] = json.loads((TEMPLATE / "cookiecutter.json").read_text())
CHOICES = {name: value for name, value in OPTIONS.items() if isinstance(value, list)}
BIN = Path(sys.executable).parent


def tool_env(**extra: str) -> dict[str, str]:
    """The environment for commands run in a baked project.

    The template's own virtual environment comes first on PATH, so its uv, cookiecutter
    and git-hook tools are found whether or not that environment is activated.
    """
    env = {**os.environ, **extra}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VIRTUAL_ENV", None)
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


@dataclass(frozen=True)
class BakedProject:
    path: Path
    answers: dict[str, str]

    def option(self, name: str) -> str:
        """The answer given for `name`, or the template's default."""
        default = OPTIONS[name]
        return self.answers.get(name, default[0] if isinstance(default, list) else str(default))

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


def bake(output_dir: Path, **answers: str) -> BakedProject:
    """Generate a project; fail the test with cookiecutter's output if that fails."""
    done = cookiecutter(output_dir, **answers)
    if done.returncode != 0:
        raise AssertionError(f"cookiecutter failed:\n{done.stdout}\n{done.stderr}")
    [path] = [child for child in output_dir.iterdir() if child.is_dir() and child.name[0] != "."]
    return BakedProject(path=path, answers=answers)
