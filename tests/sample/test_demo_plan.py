"""The demo's plan (sample.rules.demo_plan, issue 24): months and cities taken from the shipped policy so that
every demo entity is booked; the demo close itself is tests/flows/test_close_cli.py::test_demo_prints_the_three_outputs."""

from __future__ import annotations

import csv

from sample.people import ENTITIES
from sample.rules import demo_plan
from transforms.common.periods import months_between
from transforms.ledger.policy import SHIPPED_POLICY


def _pension_rows() -> list[dict]:
    with SHIPPED_POLICY.open(encoding="utf-8") as handle:
        return [r for r in csv.DictReader(handle) if r["insurance_type"] == "pension"]


def test_every_entity_has_a_shipped_pension_row_in_every_closed_month():
    entities, first, close_from, close_to = demo_plan()
    rows = _pension_rows()
    closed = months_between(close_from, close_to)
    assert len(closed) == 3 and len(months_between(first, close_to)) == 15
    for entity in entities:
        for month in closed:
            assert any(r["region"] == entity.city and r["effective_from"] <= month
                       and (not r["effective_to"] or r["effective_to"] >= month) for r in rows), (entity.city, month)
    # the last closed month is no later than the newest figures of the entities' cities
    assert close_to <= max(r["effective_from"] for r in rows if r["region"] in {e.city for e in entities})


def test_an_entity_whose_city_the_table_lacks_moves_within_its_province():
    entities, *_ = demo_plan()
    shipped = {r["region"] for r in _pension_rows()}
    assert [e.prefix for e in entities] == [e.prefix for e in ENTITIES]
    for preferred, chosen in zip(ENTITIES, entities, strict=True):
        assert chosen.province == preferred.province and chosen.city in shipped
        assert chosen == preferred if preferred.city in shipped else (
            chosen.name == preferred.name.replace(preferred.city, chosen.city) and chosen.city_spellings[0] == chosen.city)
