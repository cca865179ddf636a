"""`migrate-store`: move what a server made with template 1.0.0 stored in Redis to the
current layout (redis_store.py). Run it once, after the last server of the old
version has stopped; running it again finds nothing to move.

Version 1.0.0 kept each group as a string, `NS:group:<id>`, each feedback in a key of
its own, `NS:feedback:<prediction id>`, an index `NS:groups` that never expired, and
the counts in `NS:feedback-counts`. Each group becomes a hash holding its feedback, with
the time it had left to live (the TTL setting if it had none), and the counts are added
to the current ones. Each group moves in one transaction: an interrupted run leaves
every group whole, in one layout or the other.
"""

from dataclasses import dataclass
from datetime import datetime

import orjson
from redis import Redis

from .. import DISTRIBUTION, ENV_PREFIX
from ..errors import ProjectError
from ..settings import Settings
from .keys import FEEDBACK_FIELD, RECORD, RedisKeys


@dataclass(frozen=True)
class Moved:
    groups: int = 0
    predictions: int = 0
    feedback: int = 0


def migrate(settings: Settings, namespace: str = DISTRIBUTION) -> Moved:
    """Move the 1.0.0 layout of `namespace` to the current one; say what moved."""
    if settings.redis_url is None:
        raise ProjectError("REDIS_URL is not set: there is no Redis to migrate")
    if settings.redis_cluster:
        raise ProjectError(
            f"{ENV_PREFIX}REDIS_CLUSTER is set: template 1.0.0 never wrote to a Redis"
            " Cluster (its scripts could not run there), so there is nothing to migrate"
        )
    current = RedisKeys(namespace)
    ttl_seconds = settings.prediction_ttl_seconds
    client = Redis.from_url(settings.redis_url)
    groups = predictions = feedback = 0
    for key in client.scan_iter(match=f"{namespace}:group:*", _type="string"):
        moved = move_group(client, current, ttl_seconds, key)
        if moved is not None:
            groups, predictions, feedback = (
                groups + 1,
                predictions + moved[0],
                feedback + moved[1],
            )
    counts = f"{namespace}:feedback-counts"
    total, correct = client.hmget(counts, "total", "correct")
    with client.pipeline() as transaction:
        transaction.hincrby(current.counts, "total", int(total or 0))
        transaction.hincrby(current.counts, "correct", int(correct or 0))
        transaction.delete(counts, f"{namespace}:groups")
        transaction.expire(current.index, ttl_seconds)
        transaction.execute()
    client.close()
    return Moved(groups, predictions, feedback)


def move_group(
    client: Redis, current: RedisKeys, ttl_seconds: int, key: bytes
) -> tuple[int, int] | None:
    """Move one group with its feedback; return how many predictions and feedback, or
    None if it expired meanwhile."""
    record, left = client.get(key), client.pttl(key)
    if record is None or left == -2:
        return None
    fields = orjson.loads(record)
    namespace = current.namespace
    old_feedback = [f"{namespace}:feedback:{one}" for one in fields["ids"]]
    found = {
        FEEDBACK_FIELD + prediction_id: value
        for prediction_id, value in zip(
            fields["ids"], client.mget(old_feedback), strict=True
        )
        if value is not None
    }
    new_key = current.group(fields["id"])
    # When it was written, from the old index; else when it was made.
    written = client.zscore(f"{namespace}:groups", key)
    if written is None:
        written = datetime.fromisoformat(fields["created_at"]).timestamp()
    with client.pipeline() as transaction:
        transaction.hset(new_key, mapping={RECORD: record, **found})
        if left > 0:
            transaction.pexpire(new_key, left)
        else:  # kept forever by 1.0.0's TTL of 0: every key expires now
            transaction.expire(new_key, ttl_seconds)
        transaction.zadd(current.index, {fields["id"]: written})
        transaction.delete(key, *old_feedback)
        transaction.execute()
    return len(fields["ids"]), len(found)
