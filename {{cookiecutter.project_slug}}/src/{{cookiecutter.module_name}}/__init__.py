"""The project's package: the command line is in cli.py, the HTTP API in serving/."""

from importlib.metadata import metadata

DISTRIBUTION = "{{ cookiecutter.project_slug }}"
# Every setting's environment variable starts with this (see settings.py).
ENV_PREFIX = f"{__name__.upper()}_"
# pyproject.toml is the one place that holds the description and the version.
SUMMARY = metadata(DISTRIBUTION)["Summary"]
__version__ = metadata(DISTRIBUTION)["Version"]
