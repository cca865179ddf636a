"""The suite itself: the order that `make test`'s workers take the tests in, and the
trained pipeline they share."""

import pytest

from {{ cookiecutter.module_name }}.params import load_params
from {{ cookiecutter.module_name }}.pipeline.runner import run
from {{ cookiecutter.module_name }}.settings import Settings


def test_the_slow_tests_are_queued_first(request: pytest.FixtureRequest) -> None:
    # The collected order, the queue that --dist worksteal splits (conftest.py).
    items = request.session.items
    slow = [item.get_closest_marker("slow") is not None for item in items]

    assert slow == sorted(slow, reverse=True)


def test_the_workers_share_one_trained_pipeline(
    trained: Settings,
    tmp_path_factory: pytest.TempPathFactory,
    pytestconfig: pytest.Config,
) -> None:
    if not hasattr(pytestconfig, "workerinput"):
        pytest.skip("one process, no workers to share with: run `make test`")
    own = tmp_path_factory.getbasetemp()  # this worker's; the others' are beside it

    assert trained.lock_file.parent.parent == own.parent
    # Whichever worker trained it, another one finds nothing to run there.
    assert not any(step.ran for step in run(trained, load_params(trained.params_file)))
