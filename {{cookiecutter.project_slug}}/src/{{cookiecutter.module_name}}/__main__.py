"""Allow `python -m` with the package's name, like the project's command."""

from . import DISTRIBUTION
from .cli import app

if __name__ == "__main__":
    app(prog_name=DISTRIBUTION)
