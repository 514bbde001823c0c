"""Coverage-guided fuzzing with atheris (libFuzzer) of the readers, normalisers and staging, in the suite.

A bounded run of ``tests/hardening/fuzz_readers.py`` (``SHEBAO_ATHERIS_RUNS`` inputs, default 3,000) in
its own process, seeded with the acceptance inbox's small files: it must end with libFuzzer's ``Done``
line, exit 0 and leave no crash input behind. Longer runs: see the harness's docstring.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

HARNESS = Path(__file__).with_name("fuzz_readers.py")


def test_atheris_finds_no_crash_in_the_readers(tmp_path, acceptance_dir):
    runs = int(os.environ.get("SHEBAO_ATHERIS_RUNS", "3000"))
    corpus = tmp_path / "corpus"
    result = subprocess.run(
        [sys.executable, str(HARNESS), f"-runs={runs}", "-rss_limit_mb=3072", "-timeout=60", "-seed=1",
         str(corpus)],
        cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False)
    crashes = [p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-", "leak-"))]
    assert result.returncode == 0 and not crashes, (result.returncode, crashes, result.stderr[-3000:])
    done = re.search(r"Done (\d+) runs", result.stderr)
    assert done and int(done.group(1)) >= runs, result.stderr[-2000:]
    assert any(corpus.iterdir()), "the corpus was not seeded from the acceptance inbox"
