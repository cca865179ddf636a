"""What GET /metrics reports, in Prometheus' text format.

This process's own counts (sum them over replicas):

- `<package>_http_request_duration_seconds`: a latency histogram per method, route and
  status (its `_count` is the number of requests);
- `<package>_predictions_total` per predicted label;
- `<package>_store_failed_writes_total`, `_store_dropped_total`: predictions the store
  could not write at once, and those lost because the backlog was full;
  `<package>_store_pending_writes`: the backlog now;
- `<package>_model_info`: the served model's version and runtime;
- `<package>_model_load_failures_total`: attempts of a server following a registry
  alias to load a new version that failed (the model before kept serving; it tries
  again at each refresh).

Read from the store when scraped: with Redis every replica reports the same values,
so aggregate them with `max`, not `sum`:

- `<package>_store_evictions_total`: entries the store evicted to make room (Redis's
  own `evicted_keys`);
- `<package>_feedback_predictions`, `_feedback_correct_predictions`: predictions with
  feedback, and those that were right. Gauges, not counters: a replaced feedback can
  lower the right ones by one. `<package>_live_accuracy` is their all-time ratio;
- `<package>_monitor_retrain`: 1 when the last `monitor` run said retrain, labelled
  with the model `version` serving then, and, while runs keep saying so for that
  version, `_monitor_retrain_since_timestamp_seconds`: since when;
  `_monitor_last_run_timestamp_seconds`; and `_monitor_min_live_accuracy`,
  `_monitor_min_feedback`, the thresholds of params.yaml it judged with, so that alert
  rules compare against them instead of copying them.

Until the store has answered once, these store values are not reported at all, rather
than as zeros that would jump when it answers.

Each server process counts for itself: run one worker per container (scale with
replicas, as deploy/kubernetes/ does) and let Prometheus scrape each one.
"""

import collections
import logging
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..predictor import Predictor
from ..store.contract import FeedbackCounts, PredictionStore, StoreUnavailable
from ..store.records import MonitorRun

log = logging.getLogger(__name__)

NAMESPACE = __name__.partition(".")[0]
# Most predictions take a few milliseconds; batches and stalls take longer.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def gauge(name: str, summary: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{NAMESPACE}_{name}", summary, value=value)


def counter(name: str, summary: str, value: float) -> CounterMetricFamily:
    """A counter; the text format names it `<name>_total`."""
    return CounterMetricFamily(f"{NAMESPACE}_{name}", summary, value=value)


class StoreCollector(Collector):
    """Reports the store's health, and what the store holds for every replica (read
    by `Metrics.refresh` before each scrape)."""

    def __init__(self, store: PredictionStore) -> None:
        self.store = store
        self.feedback = FeedbackCounts()
        self.evictions = 0
        self.monitor_run: MonitorRun | None = None
        self.read = False  # whether the store has answered once

    def collect(self) -> Iterator[Metric]:
        store, feedback = self.store, self.feedback
        yield counter(
            "store_failed_writes",
            "Predictions the store could not write at once",
            store.failed_writes,
        )
        yield gauge(
            "store_pending_writes", "Predictions waiting for the store", store.pending()
        )
        yield counter(
            "store_dropped",
            "Predictions lost because the store's backlog was full",
            store.dropped,
        )
        if not self.read:
            return
        yield counter(
            "store_evictions",
            "Entries the store evicted to make room (Redis: for the whole Redis)",
            self.evictions,
        )
        yield gauge(
            "feedback_predictions", "Predictions that got feedback", feedback.total
        )
        yield gauge(
            "feedback_correct_predictions",
            "Predictions whose feedback matched the predicted label",
            feedback.correct,
        )
        if feedback.total:
            yield gauge(
                "live_accuracy",
                "Share of the predictions with feedback that were right",
                feedback.correct / feedback.total,
            )
        if self.monitor_run is not None:
            yield from monitored(self.monitor_run)


def monitored(run: MonitorRun) -> Iterator[Metric]:
    """The last `monitor` run's verdict, and the thresholds it judged with."""
    retrain = GaugeMetricFamily(
        f"{NAMESPACE}_monitor_retrain",
        "1 when the last monitor run said retrain, for the model version serving then",
        labels=["version"],
    )
    retrain.add_metric([run["model_version"]], float(run["retrain"]))
    yield retrain
    if run["retrain_since"] is not None:
        since = GaugeMetricFamily(
            f"{NAMESPACE}_monitor_retrain_since_timestamp_seconds",
            "Since when monitor runs have said retrain for this model version",
            labels=["version"],
        )
        since.add_metric([run["model_version"]], run["retrain_since"])
        yield since
    yield gauge(
        "monitor_last_run_timestamp_seconds",
        "When the last monitor run finished",
        run["finished_at"],
    )
    yield gauge(
        "monitor_min_live_accuracy",
        "The live accuracy under which monitor says retrain (params.yaml)",
        run["min_live_accuracy"],
    )
    yield gauge(
        "monitor_min_feedback",
        "Predictions with feedback that the live accuracy needs (params.yaml)",
        run["min_feedback"],
    )


class Metrics:
    """This process's metrics, in a registry of its own (one per app)."""

    def __init__(self, predictor: Predictor, store: PredictionStore) -> None:
        self.registry = CollectorRegistry()
        self.collector = StoreCollector(store)
        self.registry.register(self.collector)
        self._latency = Histogram(
            "http_request_duration_seconds",
            "Time to answer a request, by method, route and status",
            ["method", "route", "status"],
            namespace=NAMESPACE,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._predictions = Counter(
            "predictions",
            "Predictions made, by predicted label",
            ["label"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self._model = Info(
            "model",
            "The model that answers",
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self._load_failures = Counter(
            "model_load_failures",
            "Failed attempts to load a new model version; the one before kept serving",
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.serving(predictor)

    def serving(self, predictor: Predictor) -> None:
        """Report `predictor` as the model that answers."""
        self._model.info(
            {"version": predictor.version, "runtime": predictor.runtime.name}
        )
        for label in predictor.classes:  # every class shows, at 0 until predicted
            self._predictions.labels(label)

    def load_failed(self) -> None:
        self._load_failures.inc()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self._latency.labels(method, route, status).observe(seconds)

    def count(self, labels: Iterable[str]) -> None:
        for label, predicted in collections.Counter(labels).items():
            self._predictions.labels(label).inc(predicted)

    async def refresh(self) -> None:
        """Read the store's counts; keep the last ones if it is down."""
        collector = self.collector
        try:
            collector.feedback = await collector.store.feedback_counts()
            collector.evictions = await collector.store.evictions()
            collector.monitor_run = await collector.store.last_monitor_run()
            collector.read = True
        except StoreUnavailable as error:
            log.warning("store counts unavailable for /metrics: %s", error)
