"""The baseline for benchmarks/serving.py: validate the same request, answer at once."""

from fastapi import FastAPI

from {{ cookiecutter.module_name }}.dataset import CLASSES, Features


def create_app() -> FastAPI:
    app = FastAPI()

    @app.post("/predict")
    async def predict(features: Features) -> dict[str, str]:
        return {"label": CLASSES[0]}

    return app
