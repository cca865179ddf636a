"""Stored predictions: what the API writes and `make monitor` reads.

- records.py: a stored prediction and its feedback;
- groups.py: the predictions of one model call, stored as one record;
- contract.py: what every store does (`PredictionStore`), and its one error;
- memory.py: the store of one server process, when no Redis is set;
- redis_store.py, with keys.py and writer.py: the Redis store, its key layout, and the
  write-behind writer with its backlog;
- migration.py: `migrate-store`, from template 1.0.0's Redis layout.
"""
