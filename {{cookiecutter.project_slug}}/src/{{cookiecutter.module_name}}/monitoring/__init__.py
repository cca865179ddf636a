"""Watching the served model: has the live input drifted from the training data?

`make monitor` reads the most recent stored predictions back from Redis, compares each
feature with the training set (drift.py) and writes a JSON report and a page with one
chart per feature (report.py, page.py).
"""
