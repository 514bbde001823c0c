"""flows.runtime.defaults: what GX imports but never runs for us is loaded only when used (issue 28)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
