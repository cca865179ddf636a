"""Load test of POST /predict: `make loadtest` runs it against a running server.

Bounded twice: by locust's --run-time, and by LOADTEST_MAX_REQUESTS requests in all.
"""

import os
import random

from locust import HttpUser, between, events, task
from locust.env import Environment

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
        self.client.post(
            "/predict",
            json={
                "sepal_length_cm": round(random.uniform(4.3, 7.9), 1),
                "sepal_width_cm": round(random.uniform(2.0, 4.4), 1),
                "petal_length_cm": round(random.uniform(1.0, 6.9), 1),
                "petal_width_cm": round(random.uniform(0.1, 2.5), 1),
            },
        )


@events.quitting.add_listener
def summary(environment: Environment, **_: object) -> None:
    total = environment.stats.total
    print(
        f"requests {total.num_requests}, errors {total.num_failures}, "
        f"{total.total_rps:.1f} requests/s, "
        f"p50 {total.get_response_time_percentile(0.5):.0f} ms, "
        f"p99 {total.get_response_time_percentile(0.99):.0f} ms"
    )
