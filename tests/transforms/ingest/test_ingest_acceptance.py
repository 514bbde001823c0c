"""Ingest of the public acceptance inbox: every file's account equals expected.json."""

from __future__ import annotations

import shutil
from collections import defaultdict

import pytest

from transforms.ingest.inbox import ingest_inbox
from warehouse.db import connect


@pytest.fixture()
def ingested(acceptance_copy):
    """The acceptance inbox ingested into a new warehouse: a copy of the session's (``acceptance_ingested``
    runs the same ``ingest_inbox`` on a new warehouse once, rather than once per test here)."""
    connection = connect(acceptance_copy)
    yield connection
    connection.close()


def _accounts(con):
    loads = {
        row[0]: row[1:]
        for row in con.execute(
            "SELECT source_file, kind, status, rows_read, rows_staged, rows_rejected FROM ingest.loads"
        ).fetchall()
    }
    rejects: dict[str, dict[str, int]] = defaultdict(dict)
    for source, code, count in con.execute(
        "SELECT source_file, reason_code, count(*) FROM ingest.rejects GROUP BY ALL"
    ).fetchall():
        rejects[source][code] = count
    return loads, rejects


def test_every_file_is_accounted_as_expected(ingested, expected):
    loads, rejects = _accounts(ingested)
    assert set(loads) == set(expected["files"])
    for name, want in expected["files"].items():
        kind, status, read, staged, rejected = loads[name]
        assert (kind, status, read) == (want["kind"], "loaded", want["rows"]), name
        assert rejects.get(name, {}) == want["rejected"], name
        assert read == staged + rejected, name


def test_loading_the_same_inbox_twice_changes_nothing(ingested, acceptance_dir):
    con = ingested
    tables = ["ingest.loads", "ingest.rejects", "raw.rows", "staging.payroll", "staging.attendance",
              "staging.insurance", "staging.transfers"]
    before = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    second = ingest_inbox(con, acceptance_dir / "inbox")
    after = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    assert before == after
    assert {s["status"] for s in second} == {"already_loaded"}


def test_a_renamed_copy_is_recorded_as_skipped_duplicate(con, acceptance_dir, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    source = acceptance_dir / "inbox" / "工资表_202401_127.csv"
    shutil.copy(source, inbox / source.name)
    copy = source.stem + "_副本.csv"  # sorts after the original, so it is the later file
    shutil.copy(source, inbox / copy)
    ingest_inbox(con, inbox)
    statuses = dict(con.execute("SELECT source_file, status FROM ingest.loads").fetchall())
    assert statuses == {source.name: "loaded", copy: "skipped_duplicate"}
    assert con.execute("SELECT count(*) FROM staging.payroll").fetchone()[0] == \
        con.execute("SELECT rows_staged FROM ingest.loads WHERE status = 'loaded'").fetchone()[0]


def test_current_rows_come_from_the_latest_file_per_key(ingested):
    con = ingested
    # For payroll and attendance: one load per (period, entity) is current, and core holds only its rows.
    duplicated = con.execute(
        """
        SELECT count(*) FROM (
            SELECT period, entity, count(DISTINCT load_id) AS loads FROM core.payroll GROUP BY ALL HAVING loads > 1
        )
        """
    ).fetchone()[0]
    assert duplicated == 0
    superseded = con.execute("SELECT count(*) FROM raw.rows_status WHERE standing = 'superseded'").fetchone()[0]
    staged_total = con.execute("SELECT count(*) FROM staging.payroll").fetchone()[0]
    current_total = con.execute("SELECT count(*) FROM core.payroll").fetchone()[0]
    payroll_superseded = con.execute(
        "SELECT count(*) FROM raw.rows_status WHERE standing = 'superseded' AND kind = 'payroll'"
    ).fetchone()[0]
    assert staged_total - current_total == payroll_superseded
    assert superseded >= payroll_superseded
