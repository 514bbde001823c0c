"""A real close writes exactly the files transforms/outputs/index.py's index lists (issue 27)."""

from __future__ import annotations

from conftest import PERIOD

from transforms.outputs.index import OUTPUTS, owner


def test_a_close_writes_exactly_the_files_of_the_index(close_reference):
    folder, _, summary = close_reference
    out = folder / "out"
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written
    unlisted = [path for path in written if owner(path, PERIOD) is None]
    assert not unlisted, f"files a close writes that transforms/outputs/index.py does not list: {unlisted}"
    found = {owner(path, PERIOD) for path in written}
    # every output of every close is there; the others when their condition holds (the sample has transfers
    # to apply for and people to declare, and no --full-ids)
    missing = [o.name for o in OUTPUTS if o not in found and "full-ids" not in o.when]
    assert not missing, f"outputs of the index no close wrote: {missing}"
    assert not any("full_ids" in path for path in written)
    # the HR report: one file, the run's, written by the actions step and named in both summaries
    reports = [path for path in written if path.startswith(f"{PERIOD}/validation_report_")]
    assert reports == [f"{PERIOD}/{summary['validation']['report'].rsplit('/', 1)[1]}"]
    assert summary["actions"]["report"] == summary["validation"]["report"]
