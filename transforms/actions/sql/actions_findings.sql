-- SPEC §6: the findings of validation run $run_id that call for an action, each with its action type, its problem
-- key and the evidence its action needs, prepared once for every part of actions_found.sql.
-- action_map (code -> action_type, prefix): the codes' registry rows (quality.checks) with the types' prefixes,
-- action_prefix (action_type -> prefix), both registered by transforms/actions/cleanup.py.
-- part_hash: actions_found.sql groups the findings whose hash(action_type, problem_key) falls in its part, so
-- each action's findings fall in one part.
CREATE OR REPLACE TEMP TABLE action_findings AS
WITH findings AS (
    -- d: the details each field of an action is read from, without NO_POLICY's list of people, which no field
    -- reads and which at a million employees holds 61,000 people: read some 45 times per finding while a part
    -- is grouped, DuckDB's JSON parses of it ran past the 1GB limit (docs/memory.md). evidence: the whole details.
    SELECT f.*, CAST(f.details AS JSON) AS evidence, json_merge_patch(f.details, '{"people": null}') AS d,
           m.action_type, m.prefix, coalesce(c.moot_with_transfer, false) AS moot_with_transfer
    FROM quality.findings f
    JOIN action_map m ON m.code = f.code
    JOIN quality.checks c ON c.code = f.code
    WHERE f.run_id = $run_id
),
typed AS (
    -- SPEC §6: a code's action type, or the one its details call for (a registry row's action_if, e.g.
    -- TRANSFER_NEEDED meeting the interim-account rule → CONFIRM_INTERIM_ACCOUNT), with that type's prefix
    SELECT f.* REPLACE ({action_type} AS action_type) FROM findings f
),
keyed AS (
    SELECT f.* REPLACE (p.prefix AS prefix),
        -- the problem's key: who (and, for merges, which shared number or which name + birth date); each
        -- code's expression is its registry row (expectations/registry.py, via quality.checks)
        {problem_key} AS problem_key
    FROM typed f
    JOIN action_prefix p ON p.action_type = f.action_type
),
-- SPEC §6: a transfer of that person from that region, any stage but rejected, in any transfers snapshot up
-- to P makes the action of a code whose registry row says moot_with_transfer moot (ACTIVE_ELSEWHERE's
-- STOP_ORIGIN_RECORD: the transfer's own findings cover it).
known_transfers AS (
    SELECT id_number, from_region, max(transfer_id) AS transfer_id
    FROM core.transfers
    WHERE period <= $period
      AND stage <> 'rejected'
      AND coalesce(insurance_type, 'pension') = 'pension'
    GROUP BY id_number, from_region
),
-- The ledger base of the month per (entity, person, type): what ADJUST_BASE asks the record to carry.
ledger_base AS (
    SELECT entity, id_number, insurance_type, min(base) AS base
    FROM ledger.current_contributions
    WHERE period = $period
      AND id_number IN (SELECT id_number FROM keyed WHERE action_type = 'ADJUST_BASE')
    GROUP BY entity, id_number, insurance_type
),
-- Plain equi-joins (both right sides are unique on their keys) with the action type tested after: a type
-- test inside ON turns them into nested-loop joins, minutes at 200,000 employees.
evidenced AS (
    SELECT k.*,
           CASE WHEN k.action_type = 'ADJUST_BASE' THEN lb.base END AS ledger_base,
           CASE WHEN k.moot_with_transfer THEN t.transfer_id END AS open_transfer
    FROM keyed k
    LEFT JOIN ledger_base lb
      ON lb.entity = k.entity AND lb.id_number = k.id_number AND lb.insurance_type = k.insurance_type
    LEFT JOIN known_transfers t
      ON t.id_number = k.id_number AND t.from_region = (k.d ->> '$.other_region')
),
per_type AS (
    -- one expected base per insurance type of an action: the ledger's, else the floor or ceiling the finding
    -- names (a person without ledger rows), the lowest where findings differ
    SELECT e.*,
           coalesce(min(e.ledger_base) OVER w, min(TRY_CAST(e.d ->> '$.expected_base' AS DECIMAL(14, 2))) OVER w)
               AS type_expected_base
    FROM evidenced e
    WINDOW w AS (PARTITION BY e.action_type, e.problem_key, e.insurance_type)
)
SELECT *, hash(action_type, problem_key) AS part_hash FROM per_type;

-- Every action names an entity (SPEC §6): the findings' one entity, else the entity whose payroll holds the
-- person's id_number in P, else that of the person's latest payroll row up to P; here that payroll entity of
-- every person with a finding.
CREATE OR REPLACE TEMP TABLE action_payroll_entities AS
SELECT y.id_number, max_by(y.entity, (y.period, y.entity)) AS entity
FROM core.payroll y
WHERE y.period <= $period
  AND y.id_number IN (SELECT id_number FROM action_findings)
GROUP BY y.id_number;
