"""The one error type the command line turns into a one-line message."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class ProjectError(Exception):
    """A problem the user can fix: a missing input, a bad parameter, a bad value."""


def first_problem(error: "ValidationError") -> tuple[str, str]:
    """Return the dotted name of the first invalid field, and what is wrong."""
    problem = error.errors()[0]
    field = ".".join(str(part) for part in problem["loc"]) or "(top level)"
    return field, problem["msg"]
