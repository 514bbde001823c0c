"""scripts/test-tmpdir.sh: the tests' temporary folders go to a tmpfs with room, else stay where the system puts them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "test-tmpdir.sh"


def _chosen(**env: str) -> str:
    environment = {key: value for key, value in os.environ.items() if key not in ("TMPDIR", "MIN_FREE_MB")}
    result = subprocess.run(["bash", str(SCRIPT)], env=environment | env, capture_output=True, text=True, check=True)
    assert result.stderr == ""
    return result.stdout.strip()


def _shm_is_tmpfs() -> bool:
    found = subprocess.run(["stat", "-f", "-c", "%T", "/dev/shm"], capture_output=True, text=True)
    return found.returncode == 0 and found.stdout.strip() == "tmpfs" and os.access("/dev/shm", os.W_OK)


def test_a_tmpdir_already_set_is_kept():
    assert _chosen(TMPDIR="/somewhere/else") == ""


def test_a_tmpfs_without_room_is_not_used():
    assert _chosen(MIN_FREE_MB=str(10**12)) == ""


@pytest.mark.skipif(not _shm_is_tmpfs(), reason="/dev/shm is no writable tmpfs on this machine")
def test_a_tmpfs_with_room_is_used():
    assert _chosen(MIN_FREE_MB="1") == "/dev/shm"
