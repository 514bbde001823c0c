-- SPEC §5 "P's snapshot" of insurance, each row with lineage, whether it is "ours" (its employer is an entity
-- seen in payroll up to P) and whether it is active and covers P.
CREATE OR REPLACE MACRO quality.insurance_snapshot(p) AS TABLE
WITH snapshot AS (
    SELECT * FROM core.insurance WHERE period = p
),
our_entities AS (
    SELECT entity FROM quality.our_entities(p)
),
loads AS (
    SELECT load_id, source_file FROM ingest.loads
),
insurance_snapshot AS (
    SELECT i.period, i.id_number, i.name, i.region, i.employer, i.insurance_type, i.status, i.start_month,
           i.end_month, i.base, i.first_enrollment,
           i.employer IN (SELECT entity FROM our_entities) AS ours,
           i.status = 'active' AND quality.covers(i.start_month, i.end_month, p) AS active_covering,
           l.source_file, i.sheet, i.row_number
    FROM snapshot i
    LEFT JOIN loads l ON l.load_id = i.load_id
)
SELECT * FROM insurance_snapshot;
