"""Start-up: a command imports what it uses, when it uses it.

Each check runs the command in a fresh interpreter and lists the packages it imported:
deterministic, where timing it would not be (`make benchmark` prints the times).
"""

import json
import os
import subprocess
import sys

import pytest
from servers import environment

import {{ cookiecutter.module_name }} as package
from {{ cookiecutter.module_name }}.dataset import EXAMPLE
from {{ cookiecutter.module_name }}.settings import Settings
from {{ cookiecutter.module_name }}.tracking import IMPORTS

HEAVY = {"sklearn", "pandas", "fastapi", *IMPORTS}
# Ends every script: prints the top-level packages that the interpreter imported.
PACKAGES = 'print(json.dumps(sorted({n.partition(".")[0] for n in sys.modules})))'


def imported(script: str, settings: Settings | None = None) -> set[str]:
    """Run `script` in a fresh interpreter; return the packages it imported."""
    files = environment(settings) if settings else {}
    done = subprocess.run(
        [sys.executable, "-c", f"import json, sys\n{script}\n{PACKAGES}"],
        capture_output=True,
        text=True,
        env={**os.environ, **files},
        check=True,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def command(*arguments: str) -> str:
    """A script that runs the command line as `python -m` does."""
    name = package.__name__
    return (
        f"import runpy\nsys.argv = [{name!r}, *{list(arguments)!r}]\n"
        f"try:\n    runpy.run_module({name!r}, run_name='__main__', alter_sys=True)\n"
        "except SystemExit as exit:\n    assert not exit.code, exit.code"
    )


def test_help_imports_no_heavy_library() -> None:
    assert imported(command("--help")) & HEAVY == set()


def test_an_up_to_date_pipeline_imports_no_heavy_library(trained: Settings) -> None:
    # As in this session (conftest.py): the data set's own files are not read.
    hermetic = f"from {package.__name__} import dataset\ndataset.SOURCE_FILES = ()\n"

    assert imported(hermetic + command("pipeline"), trained) & HEAVY == set()


def require_onnx(trained: Settings) -> None:
    """Skip the test when the ONNX export failed its parity check (scikit-learn then
    serves, as the model card says)."""
    if not json.loads(trained.onnx_parity_file.read_text())["passed"]:
        pytest.skip("the ONNX export failed its parity check: scikit-learn serves")


def test_predicting_with_the_onnx_export_imports_no_heavy_library(
    trained: Settings,
) -> None:
    require_onnx(trained)
    row = [f"{name}={value}" for name, value in EXAMPLE.items()]

    assert imported(command("predict", *row), trained) & HEAVY == set()


def test_serving_the_onnx_export_imports_no_scikit_learn(trained: Settings) -> None:
    require_onnx(trained)
    start = (
        f"import asyncio\nfrom {package.__name__}.serving.app import create_app\n"
        "async def start():\n    app = create_app()\n"
        "    async with app.router.lifespan_context(app):\n"
        "        assert app.state.predictor.runtime.name == 'onnx'\n"
        "asyncio.run(start())"
    )

    assert imported(start, trained) & HEAVY == {"fastapi"}


def test_the_check_sees_a_heavy_import() -> None:
    assert "pandas" in imported("import pandas")
