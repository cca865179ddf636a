"""The suite itself: the order that `make test`'s workers take the tests in, and the
trained pipeline they share."""

import os

import pytest

from {{ cookiecutter.module_name }}.settings import Settings


def test_the_slow_tests_are_queued_first(request: pytest.FixtureRequest) -> None:
    # The collected order, the queue that --dist worksteal splits (conftest.py).
    items = request.session.items
    slow = [item.get_closest_marker("slow") is not None for item in items]

    assert slow == sorted(slow, reverse=True)


def test_the_workers_share_one_trained_pipeline(
    trained: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("one process, no workers to share with: run `make test`")
    own = tmp_path_factory.getbasetemp()  # this worker's; the others' are beside it
    folder = trained.lock_file.parent

    assert folder.parent == own.parent
    assert trained.lock_file.is_file()  # trained there, by this worker or another
