"""AppJob: each job runs in its own app context and one transaction."""

from __future__ import annotations

from typing import Any, ClassVar

from flask import Flask
from rq.job import Job

from app.db import transaction


class AppJob(Job):
    app: ClassVar[Flask]  # set once by worker/__main__.py (and by the tests)

    def perform(self) -> Any:
        with self.app.app_context(), transaction():
            return super().perform()
