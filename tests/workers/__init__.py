"""Processes the crash and concurrency tests start (run with `python -m tests.workers.NAME`),
and the database checks they share."""
