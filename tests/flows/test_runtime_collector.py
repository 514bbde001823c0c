"""flows.runtime.collector: the cyclic collector paused while a process imports, then frozen past what it holds."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest

from flows.runtime import collector

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def collector_on():
    """The collector on and nothing paused before and after each test, whatever the test did."""
    assert gc.isenabled()
    yield
    collector.resume()
    gc.enable()


def test_paused_until_resumed_then_what_was_held_is_frozen(collector_on):
    frozen = gc.get_freeze_count()
    collector.pause()
    assert not gc.isenabled()
    collector.pause()  # a second pause changes nothing
    held = [[] for _ in range(1000)]
    collector.resume()
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + len(held)
    collector.resume()  # and a second resume neither
    assert gc.isenabled()


def test_a_collector_its_caller_turned_off_stays_off(collector_on):
    gc.disable()
    try:
        with collector.paused_while_starting():
            pass
        collector.resume()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_block_that_fails_before_resuming_leaves_the_collector_on(collector_on):
    with pytest.raises(ValueError), collector.paused_while_starting():
        assert not gc.isenabled()
        raise ValueError("an input error before the server was ready")
    assert gc.isenabled()


SERVER_APP_BUILT = """
import gc

from uvicorn.importer import import_from_string

from flows.runtime.server import SERVER_APP, _app_built_with_collector_paused

_app_built_with_collector_paused()
assert not gc.isenabled(), "Prefect's server module imported with the collector on"
assert gc.get_freeze_count() == 0
factory = import_from_string(SERVER_APP)  # as uvicorn finds its --factory
app = factory()
assert type(app).__name__ == "FastAPI", app
assert gc.isenabled()
assert gc.get_freeze_count() > 100_000  # Prefect, FastAPI and the app's routes, skipped by later collections
print("ok")
"""


def test_the_server_process_builds_prefects_app_with_the_collector_paused():
    result = subprocess.run([sys.executable, "-c", SERVER_APP_BUILT], cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "ok"
