"""The RQ worker process: `python -m worker`."""
