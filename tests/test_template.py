"""The template's own sources: plain Python, and one place for each fact."""

from __future__ import annotations

import ast
import re
import subprocess

import pytest
import yaml

from baking import BIN, TEMPLATE, BakedProject, tool_env
from lint_baked import SOURCE, template_path

HOOKS = TEMPLATE / "hooks"


def test_generated_python_holds_no_jinja_control_blocks() -> None:
    # Variants are whole files (`_variants/`), so every .py reads as Python.
    found = [
        f"{path.relative_to(TEMPLATE)}:{number}"
        for path in SOURCE.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "{%" in line
    ]
    assert found == []


def test_baked_python_keeps_the_template_line_numbers(baked: BakedProject) -> None:
    # lint_baked.py reports problems of baked files at these line numbers.
    for path in baked.path.rglob("*.py"):
        if ".git" in path.parts:
            continue
        source = template_path(baked, path)
        count = len(source.read_text(encoding="utf-8").splitlines())
        assert len(path.read_text(encoding="utf-8").splitlines()) == count, source


def hook_names(constant: str) -> set[str]:
    """The names in one of the answer check's sets, read without running it."""
    tree = ast.parse((HOOKS / "answers.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == constant:
            return {
                item.value
                for item in ast.walk(node.value)
                if isinstance(item, ast.Constant) and isinstance(item.value, str)
            }
    raise AssertionError(f"no {constant} in the hook")


# Distributions whose import name is not their name with dashes as underscores.
IMPORT_NAMES = {
    "scikit-learn": "sklearn",
    "pyyaml": "yaml",
    "apache-airflow": "airflow",
    # Under airflow's own package; the DAG also imports the client it brings.
    "apache-airflow-providers-cncf-kubernetes": "kubernetes",
}


def test_the_hook_refuses_module_names_of_every_dependency() -> None:
    pyproject = (SOURCE / "pyproject.toml").read_text() + (SOURCE / "Makefile").read_text()
    distributions = set(re.findall(r'"([a-z][a-z0-9-]*)(?:\[\w+\])?[<>=]', pyproject))
    typing_only = {
        name for name in distributions if name.endswith("-stubs") or name.startswith("types-")
    }
    needed = {
        IMPORT_NAMES.get(name, name.replace("-", "_")) for name in distributions - typing_only
    }

    assert needed - hook_names("DEPENDENCIES") == set()


def test_no_python_under_the_template_names_a_setting_without_its_prefix() -> None:
    # Settings are read with the project's prefix only: documenting a bare name (such
    # as REDIS_TIMEOUT_SECONDS) sends users to a variable that is silently ignored.
    settings = (SOURCE / "src/{{cookiecutter.module_name}}/settings.py").read_text()
    names = {n.upper() for n in re.findall(r"^    (\w+): ", settings, re.MULTILINE)}
    names -= {"REDIS_URL", "MODEL_CONFIG"}
    bare = re.compile(rf"(?<![\w}}])({'|'.join(sorted(names))})\b")
    found = [
        f"{path.relative_to(TEMPLATE)}:{number}: {line.strip()}"
        for path in [*SOURCE.rglob("*"), *(TEMPLATE / "docs").rglob("*.md")]
        if path.is_file() and path.suffix in {".md", ".py", ".yaml", ".yml", ".example", ""}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if bare.search(line)
    ]
    assert found == []


@pytest.mark.slow
def test_the_templates_own_hooks_pass_on_every_file() -> None:
    # The real pre-commit, with this repository's .pre-commit-config.yaml: file
    # hygiene, `make lint` and `make lint-workflows`, all offline but for PyPI.
    done = subprocess.run(
        [BIN / "pre-commit", "run", "--all-files", "--show-diff-on-failure"],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        env=tool_env(),
        timeout=900,
        check=False,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    hooks = yaml.safe_load((TEMPLATE / ".pre-commit-config.yaml").read_text())
    names = [hook["name"] for repo in hooks["repos"] for hook in repo["hooks"]]
    passed = re.findall(r"^(.+?)\.{3,}Passed$", done.stdout, re.MULTILINE)
    assert passed == names  # every hook ran on some file, none was skipped
