"""The champion/challenger gate: a new model serves only when it is not worse than the
one that serves, on the same test set; `promote` serves one on purpose."""

import json
from dataclasses import replace
from uuid import uuid4

import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from typer.testing import CliRunner

from {{ cookiecutter.module_name }} import tracking
from {{ cookiecutter.module_name }}.cli import app
from {{ cookiecutter.module_name }}.dataset import FEATURES
from {{ cookiecutter.module_name }}.model import load
from {{ cookiecutter.module_name }}.params import Params
from {{ cookiecutter.module_name }}.pipeline import runner
from {{ cookiecutter.module_name }}.pipeline import train as train_step
from {{ cookiecutter.module_name }}.promotion import Contender, decide
from {{ cookiecutter.module_name }}.settings import Settings


@pytest.fixture
def own_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """With experiment tracking, a registered model of this test's own: the session's
    tests share one tracking store, and the gate would compare with their champion."""
    name = f"test-{uuid4().hex[:8]}"
    monkeypatch.setattr(tracking, "REGISTERED_MODEL", name, raising=False)


def run(settings: Settings, params: Params, start: str | None = None) -> list[str]:
    return [done.summary for done in runner.run(settings, params, start=start)]


def lenient(params: Params, max_regression: float = 0.0) -> Params:
    """No accuracy floor: the gate alone decides."""
    return params.model_copy(
        update={
            "evaluate": params.evaluate.model_copy(update={"min_accuracy": 0.0}),
            "promote": params.promote.model_copy(
                update={"max_regression": max_regression}
            ),
        }
    )


def weaken_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, train fits a model that always answers the most frequent class:
    it scores worse on the test set than any model that learned something."""
    baseline = DummyClassifier(strategy="most_frequent")
    monkeypatch.setattr(train_step, "estimator", lambda *_: baseline)


def decision(settings: Settings) -> dict[str, object]:
    found: dict[str, object] = json.loads(settings.promotion_file.read_text())
    return found


def predictions(settings: Settings, path_name: str) -> list[str]:
    """The answers, on the test set, of the model in one of the settings' files."""
    model = load(getattr(settings, path_name))
    test_set = pd.read_csv(settings.test_file)
    return list(model.estimator.predict(test_set[list(model.features)].to_numpy()))


@pytest.mark.usefixtures("own_model")
def test_a_weaker_challenger_that_passes_the_floor_does_not_serve(
    settings: Settings, params: Params, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(settings, lenient(params))
    champion = settings.model_file.read_bytes()
    weaken_training(monkeypatch)

    *_, summary = run(settings, lenient(params), start="train")

    found = decision(settings)
    assert found["promoted"] is False
    accuracy, held = found["challenger_accuracy"], found["champion_accuracy"]
    assert isinstance(accuracy, float) and isinstance(held, float) and accuracy < held
    assert summary.startswith(
        f"kept champion {found['champion']}: challenger accuracy {accuracy:.3f}"
        f" vs champion {held:.3f}"
    )
    assert settings.model_file.read_bytes() == champion
    assert json.loads(settings.metrics_file.read_text())["accuracy"] == held
    assert f"- Decision: {found['reason']}" in settings.model_card_file.read_text()


@pytest.mark.usefixtures("own_model")
def test_a_challenger_as_good_as_the_champion_serves(
    settings: Settings, params: Params
) -> None:
    run(settings, params)

    *_, summary = run(settings, params, start="train")

    assert decision(settings)["promoted"] is True
    assert summary.startswith("promoted ") or "champion already" in summary
    assert settings.model_file.read_bytes() == settings.candidate_file.read_bytes()


@pytest.mark.usefixtures("own_model")
def test_max_regression_lets_a_worse_challenger_serve(
    settings: Settings, params: Params, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(settings, lenient(params))
    weaken_training(monkeypatch)

    run(settings, lenient(params, max_regression=1.0), start="train")

    assert decision(settings)["promoted"] is True
    served = predictions(settings, "model_file")
    assert served == predictions(settings, "candidate_file")


@pytest.mark.usefixtures("own_model")
def test_promote_serves_a_challenger_the_gate_kept_out(
    settings: Settings,
    params: Params,
    isolated_env: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run(settings, lenient(params))
    weaken_training(monkeypatch)
    run(settings, lenient(params), start="train")
    kept = decision(settings)
    # A registered version is promoted by its number, else by the model's version.
    wanted = str(kept["challenger"]).rpartition("/")[2]

    result = CliRunner().invoke(app, ["promote", wanted])

    assert result.exit_code == 0, result.output
    moved = f"champion: {kept['champion']} -> {kept['challenger']}"
    assert result.stdout.strip() == moved
    served = predictions(settings, "model_file")
    assert served == predictions(settings, "candidate_file")
    accuracy = json.loads(settings.metrics_file.read_text())["accuracy"]
    assert accuracy == kept["challenger_accuracy"]


@pytest.mark.usefixtures("own_model")
def test_promote_refuses_an_unknown_version_in_one_line(
    settings: Settings, params: Params, isolated_env: Settings
) -> None:
    run(settings, params)
    served = settings.model_file.read_bytes()

    result = CliRunner().invoke(app, ["promote", "999999"])

    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: promote 999999: ")
    assert settings.model_file.read_bytes() == served


def test_a_challenger_of_another_data_set_is_not_compared(trained: Settings) -> None:
    model = load(trained.model_file)
    other = replace(model, features=tuple(f"other_{name}" for name in FEATURES))

    found = decide(
        Contender("new", other, 1.0),
        Contender("old", model, 0.5),
        min_accuracy=0.0,
        max_regression=0.0,
    )

    assert found["promoted"] is False
    assert found["reason"].startswith("kept champion old: challenger new has other")
    assert "`promote` serves it on purpose" in found["reason"]
