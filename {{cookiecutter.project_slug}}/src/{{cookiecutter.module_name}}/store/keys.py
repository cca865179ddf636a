"""Where a namespace's predictions live in Redis: the names of its keys.

The namespace sits in braces, a hash tag: Redis Cluster keeps every key of one tag in
one slot, which the store's scripts need.
"""

from dataclasses import dataclass

from .groups import group_id_of

RECORD = "record"  # the field of a group's hash that holds its predictions
FEEDBACK_FIELD = "feedback:"  # then the prediction's id


@dataclass(frozen=True)
class RedisKeys:
    namespace: str

    @property
    def group_prefix(self) -> str:
        """Then the group's id: a hash of its record and its feedback."""
        return "{" + self.namespace + "}:group:"

    @property
    def index(self) -> str:
        """A sorted set of group ids by the time they were written."""
        return "{" + self.namespace + "}:groups"

    @property
    def counts(self) -> str:
        """A hash of two counters: feedback received, and right."""
        return "{" + self.namespace + "}:feedback-counts"

    @property
    def monitor_run(self) -> str:
        """The last `monitor` run, as JSON."""
        return "{" + self.namespace + "}:monitor-run"

    def group(self, group_id: str) -> str:
        return self.group_prefix + group_id

    def of(self, prediction_id: str) -> str:
        """The key of the group that holds a prediction."""
        return self.group(group_id_of(prediction_id))
