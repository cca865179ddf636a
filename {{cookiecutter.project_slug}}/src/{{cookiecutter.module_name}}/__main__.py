"""Allow `python -m {{ cookiecutter.module_name }}`."""

from {{ cookiecutter.module_name }}.cli import app

if __name__ == "__main__":
    app(prog_name="{{ cookiecutter.project_slug }}")
