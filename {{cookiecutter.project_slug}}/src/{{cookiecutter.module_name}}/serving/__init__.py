"""The model over HTTP: a FastAPI app whose predictions are stored for later lookup."""
