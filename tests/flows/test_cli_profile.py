"""``shebao profile suggest FILE`` (SPEC §2 v3): a draft import profile, from the closest aliases, for a file
no kind recognises; the draft is TOML that ``--profiles`` reads."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _shebao(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.launch", *args], capture_output=True, text=True, cwd=cwd,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(cwd)}, timeout=300)


def test_profile_suggest_prints_a_draft_profile(tmp_path: Path):
    source = tmp_path / "发薪明细.csv"
    source.write_bytes("员工代码,员工名字,证件号,税前应发,单位\nA1,王芳,430102199001011237,9000,星城\n".encode("gbk"))
    result = _shebao("profile", "suggest", str(source), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (entry,) = tomllib.loads(result.stdout)["source"]
    assert entry["kind"] == "payroll" and entry["columns"]["gross_pay"] == "税前应发"
    assert "# period" in result.stdout  # a required column nothing matched, left for the person to give


def test_profile_suggest_of_a_missing_file_is_one_sentence(tmp_path: Path):
    result = _shebao("profile", "suggest", str(tmp_path / "nowhere.csv"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
