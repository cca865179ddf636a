"""Load test of POST /predict: `make loadtest` runs it against a running server.

Bounded twice: by locust's --run-time, and by LOADTEST_MAX_REQUESTS requests in all.
"""

import os

from locust import HttpUser, between, events, task
from locust.env import Environment

from {{ cookiecutter.module_name }}.dataset import EXAMPLE

MAX_REQUESTS = int(os.environ.get("LOADTEST_MAX_REQUESTS", "20000"))
sent = 0


class PredictUser(HttpUser):
    wait_time = between(0, 0.01)

    @task
    def predict(self) -> None:
        global sent
        sent += 1
        if sent > MAX_REQUESTS and self.environment.runner is not None:
            self.environment.runner.quit()
            return
        # The data module's example row: the server caches nothing, so one row
        # costs what any other does.
        self.client.post("/predict", json=EXAMPLE)


@events.quitting.add_listener
def summary(environment: Environment, **_: object) -> None:
    total = environment.stats.total
    print(
        f"requests {total.num_requests}, errors {total.num_failures}, "
        f"{total.total_rps:.1f} requests/s, "
        f"p50 {total.get_response_time_percentile(0.5):.0f} ms, "
        f"p99 {total.get_response_time_percentile(0.99):.0f} ms"
    )
