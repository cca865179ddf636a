"""Measure each speed piece that the serving code keeps against the plain code it
replaces, on one batch of MAX_BATCH_ROWS rows (or as many access-log lines): the
figures quoted in speed.py, serving/routes.py, serving/predictions.py,
serving/recorder.py and serving/app.py.

Run with `make benchmark` after `make pipeline`. Each pair runs in turn, plain then
kept, BENCHMARK_ROUNDS times (5), and each figure is the median of its runs, in
microseconds per batch: the ratio is what to read, absolute figures depend on the
machine. A whole batch request takes about 7 ms through `serve` (benchmarks/serving.py).
"""

import gc
import json
import logging
import os
import secrets
import statistics
import time
from collections import deque
from collections.abc import Callable
from contextlib import redirect_stdout
from typing import TextIO

import numpy as np
import orjson
from pydantic import TypeAdapter

from {{ cookiecutter.module_name }} import speed
from {{ cookiecutter.module_name }}.dataset import EXAMPLE, FEATURES
from {{ cookiecutter.module_name }}.predictor import Predictor
from {{ cookiecutter.module_name }}.serving.recorder import write_line
from {{ cookiecutter.module_name }}.serving.routes import BATCH
from {{ cookiecutter.module_name }}.serving.schemas import (
    MAX_BATCH_ROWS,
    BatchOut,
)
from {{ cookiecutter.module_name }}.settings import load_settings

ROUNDS = int(os.environ.get("BENCHMARK_ROUNDS", "5"))
REPEAT = 20  # calls per timing: one call is too short to time alone
DEFAULT_GC = gc.get_threshold()

Piece = tuple[str, Callable[[], object], Callable[[], object]]


def per_call_us(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    for _ in range(REPEAT):
        call()
    return (time.perf_counter() - start) / REPEAT * 1e6


def pieces(predictor: Predictor, sink: TextIO) -> list[Piece]:
    rows = [dict(EXAMPLE) for _ in range(MAX_BATCH_ROWS)]
    body = orjson.dumps({"rows": rows})
    matrix = np.array([list(EXAMPLE.values())] * MAX_BATCH_ROWS)
    _, probabilities = predictor.answer(matrix)
    classes = predictor.classes
    answers = {
        "predictions": [
            {
                "prediction_id": secrets.token_hex(16),
                "label": classes[0],
                "probabilities": by_class,
                "model_version": predictor.version,
            }
            for by_class in speed.dicts(classes, probabilities)
        ]
    }
    response = TypeAdapter(BatchOut)
    size = 8  # bytes of each id

    in_flight: deque[object] = deque(maxlen=4)  # as wrk's 4 connections keep them

    def batch_as_served() -> object:
        rows = BATCH.validate_json(body)["rows"]
        labels, probabilities = predictor.answer(predictor.matrix(rows))
        ids = speed.random_ids("g", len(rows), size)
        by_class = speed.dicts(classes, probabilities)
        answered = [
            {"prediction_id": i, "label": label, "probabilities": row}
            for i, label, row in zip(ids, labels, by_class, strict=True)
        ]
        in_flight.append((rows, answered))
        return orjson.dumps(answered)

    def with_default_gc() -> object:
        gc.unfreeze()
        gc.set_threshold(*DEFAULT_GC)
        return batch_as_served()

    def with_tuned_gc() -> object:  # as serving/app.py does at start-up
        gc.freeze()
        gc.set_threshold(50_000, *DEFAULT_GC[1:])
        return batch_as_served()

    def one_call_per_row() -> object:
        return [predictor.answer(matrix[row : row + 1]) for row in range(32)]

    # The access log's line for each of as many requests, to a file that drops it.
    line: dict[str, object] = {
        "request_id": secrets.token_hex(16),
        "method": "POST",
        "path": "/predict",
        "status": 200,
        "duration_ms": 1.234,
    }
    logger = logging.getLogger("access")
    logger.addHandler(logging.StreamHandler(sink))
    logger.setLevel(logging.INFO)
    logger.propagate = False

    def lines_through_logging() -> object:
        for _ in range(MAX_BATCH_ROWS):
            logger.info(orjson.dumps(line).decode())
        return None

    def lines_written() -> object:
        with redirect_stdout(sink):
            for _ in range(MAX_BATCH_ROWS):
                write_line(line)
        return None

    return [
        (
            "body: validated from bytes (routes.parse)",
            lambda: BATCH.validate_python(json.loads(body)),
            lambda: BATCH.validate_json(body),
        ),
        (
            "answer: orjson, not checked again (routes.json_response)",
            lambda: response.dump_json(response.validate_python(answers)),
            lambda: orjson.dumps(answers),
        ),
        (
            "32 requests: one model call (serving/predictions.py)",
            one_call_per_row,
            lambda: predictor.answer(matrix[:32]),
        ),
        (
            "rows to a matrix (speed.matrix)",
            lambda: np.array([[row[name] for name in FEATURES] for row in rows]),
            lambda: speed.matrix(rows, FEATURES),
        ),
        (
            "probabilities to dicts (speed.dicts)",
            lambda: [
                dict(zip(classes, r, strict=True)) for r in probabilities.tolist()
            ],
            lambda: speed.dicts(classes, probabilities),
        ),
        (
            "prediction ids (speed.random_ids)",
            lambda: ["g" + secrets.token_hex(size) for _ in range(MAX_BATCH_ROWS)],
            lambda: speed.random_ids("g", MAX_BATCH_ROWS, size),
        ),
        (
            "access-log line: written, not logged (recorder.write_line)",
            lines_through_logging,
            lines_written,
        ),
        (
            "GC: start-up frozen, every 50,000 objects (app.py)",
            with_default_gc,
            with_tuned_gc,
        ),
    ]


def main() -> None:
    predictor = Predictor.load(load_settings())
    print(f"{MAX_BATCH_ROWS}-row batch, median of {ROUNDS} alternating runs, µs:")
    print(f"{'piece':58} {'plain':>8} {'kept':>8} {'ratio':>6}")
    with open(os.devnull, "w") as sink:
        for name, plain, kept in pieces(predictor, sink):
            times: dict[str, list[float]] = {"plain": [], "kept": []}
            for _ in range(ROUNDS):
                for label, call in (("plain", plain), ("kept", kept)):
                    times[label].append(per_call_us(call))
            before, after = (statistics.median(times[k]) for k in ("plain", "kept"))
            print(f"{name:58} {before:8.0f} {after:8.0f} {before / after:5.1f}x")


if __name__ == "__main__":
    main()
