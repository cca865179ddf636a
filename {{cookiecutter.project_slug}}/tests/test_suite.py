"""The suite itself: the order that `make test`'s workers take the tests in."""

import pytest


def test_the_slow_tests_are_queued_first(request: pytest.FixtureRequest) -> None:
    # The collected order, the queue that --dist worksteal splits (conftest.py).
    items = request.session.items
    slow = [item.get_closest_marker("slow") is not None for item in items]

    assert slow == sorted(slow, reverse=True)
