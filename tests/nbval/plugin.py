"""pytest plugin for strict nbval on the papermill-executed notebooks in ``build/``.

Loaded with ``-p tests.nbval.plugin`` (see the Makefile's ``test-notebooks``), because the
executed notebooks live outside ``tests/`` and so would not see a conftest here. It drops
from the comparison what legitimately differs between two executions: stderr (warnings,
progress bars, "trained/loaded" messages) and HTML/JavaScript renderings. Times, addresses
and devices are handled by ``sanitize.cfg``; every other printed number must match.
"""


def pytest_collectstart(collector):
    if getattr(collector, "path", None) is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += (
            "text/html",
            "application/javascript",
            "stderr",
            "application/vnd.jupyter.widget-view+json",
        )
