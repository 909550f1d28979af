"""The worker for packages handed over by RQ jobs, and the app served over HTTP for packages POSTed to it."""

from tests.e2e.conftest import live_server  # noqa: F401 - fixture
from tests.worker.conftest import run_worker  # noqa: F401 - fixture
