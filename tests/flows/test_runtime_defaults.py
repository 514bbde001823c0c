"""flows.runtime.defaults: what GX imports but never runs for us is loaded only when used, and Arrow allocates
from glibc's heap, whose free pages are given back between outputs (issue 28)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# In a fresh interpreter: the flows' runtime first, as every flow and the CLI import it, then GX.
PROBE = """
import sys
import flows.runtime
from flows.runtime.defaults import LAZY_MODULES
import great_expectations
print(sorted(name for name in LAZY_MODULES if type(sys.modules[name]).__name__ == "_LazyModule"))
from scipy import stats
print(round(float(stats.entropy([0.5, 0.5], [0.25, 0.75])), 6), type(sys.modules["scipy.stats"]).__name__)
import altair
print(altair.Chart.__name__)
"""


def test_gx_imports_scipy_stats_and_altair_without_running_them_until_used():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=REPO,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, check=True)
    lazy, used, chart = result.stdout.splitlines()
    assert lazy == "['altair', 'scipy.stats']"  # imported by GX, not executed
    assert used == "0.143841 module"  # executed whole on first use, and then a plain module
    assert chart == "Chart"


ARROW_POOL = """
import flows.runtime
import pyarrow
print(pyarrow.default_memory_pool().backend_name)
"""


@pytest.mark.parametrize(("setting", "pool"), [(None, "system"), ("mimalloc", "mimalloc")])
def test_arrow_allocates_from_glibcs_heap_unless_the_environment_says_otherwise(setting, pool):
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"} | ({"ARROW_DEFAULT_MEMORY_POOL": setting} if setting else {})
    result = subprocess.run([sys.executable, "-c", ARROW_POOL], capture_output=True, text=True, cwd=REPO, env=env,
                            check=True)
    assert result.stdout.strip() == pool  # pyarrow's own default here is mimalloc, which keeps what it frees
