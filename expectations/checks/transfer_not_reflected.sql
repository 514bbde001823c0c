-- TRANSFER_NOT_REFLECTED: a completed transfer (P's snapshot) while P's insurance snapshot still has an
-- active pension record covering P for that person in from_region, with start_month no later than the
-- month of stage_on. One row per transfer_id.
WITH scope AS (SELECT period FROM {batch}),
completed AS (
    SELECT * FROM core.transfers
    WHERE period = (SELECT period FROM scope) AND stage = 'completed'
),
records AS (
    SELECT * FROM quality.insurance_snapshot((SELECT period FROM scope))
    WHERE insurance_type = 'pension' AND active_covering
)
SELECT (SELECT period FROM scope) AS period,
       min(r.employer) FILTER (WHERE r.ours) AS entity, NULL AS employee_id,
       any_value(t.id_number) AS id_number,
       any_value(t.from_region) AS region,
       any_value(t.insurance_type) AS insurance_type,
       t.transfer_id,
       json_object(
           'name', any_value(t.name),
           'stage', 'completed',
           'stage_on', any_value(t.stage_on),
           'from_region', any_value(t.from_region),
           'to_region', any_value(t.to_region),
           'record_employer', min(r.employer),
           'record_start_month', min(r.start_month),
           'record_base', CAST(arg_min(r.base, r.employer) AS VARCHAR),
           'source', any_value(struct_pack(kind := 'transfers', file := l.source_file, sheet := t.sheet, "row" := t.row_number))
       ) AS details
FROM completed t
JOIN records r ON r.id_number = t.id_number AND r.region = t.from_region
              AND r.start_month <= strftime(t.stage_on, '%Y-%m')
LEFT JOIN ingest.loads l ON l.load_id = t.load_id
GROUP BY t.transfer_id
