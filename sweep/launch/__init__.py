"""Launchers: where tasks run. Each shares the worker, the root layout and the records."""
