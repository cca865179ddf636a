"""The one error type the command line turns into a one-line message."""

from pydantic import ValidationError


class ProjectError(Exception):
    """A problem the user can fix: a missing input, a bad parameter, a bad value."""


def first_problem(error: ValidationError) -> tuple[str, str]:
    """The dotted name of the first invalid field, and what is wrong with it."""
    problem = error.errors()[0]
    field = ".".join(str(part) for part in problem["loc"]) or "(top level)"
    return field, problem["msg"]
