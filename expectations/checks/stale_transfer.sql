-- STALE_TRANSFER: a transfer of P's snapshot in stage submitted, origin_approved or funds_received whose
-- count of working days d with stage_on < d <= the last day of P exceeds its stage's limit
-- (ref.transfer_stage_limits, from warehouse/reference/transfer_stage_limits.csv). Working days come from quality.workdays (the official calendar); a day
-- the calendar does not hold counts by weekday only, and the finding says so. One row per transfer_id.
WITH scope AS (SELECT period FROM {batch}),
bounds AS (SELECT last_day(CAST(period || '-01' AS DATE)) AS last_day_of_p FROM scope),
open_transfers AS (
    SELECT t.*, l.limit_days
    FROM core.transfers t
    JOIN ref.transfer_stage_limits l ON l.stage = t.stage
    WHERE t.period = (SELECT period FROM scope)
),
days AS (
    SELECT o.transfer_id, o.stage_on, CAST(d.day AS DATE) AS day
    FROM open_transfers o, bounds b,
         unnest(generate_series(CAST(o.stage_on AS TIMESTAMP) + INTERVAL 1 DAY, CAST(b.last_day_of_p AS TIMESTAMP),
                                INTERVAL 1 DAY)) AS d(day)
),
waited AS (
    SELECT x.transfer_id, x.stage_on,
           count(*) FILTER (WHERE coalesce(w.is_workday, dayofweek(x.day) NOT IN (0, 6))) AS working_days,
           bool_and(coalesce(w.official, false)) AS official
    FROM days x
    LEFT JOIN quality.workdays w ON w.day = x.day
    GROUP BY x.transfer_id, x.stage_on
)
SELECT (SELECT period FROM scope) AS period,
       NULL AS entity, NULL AS employee_id,
       any_value(o.id_number) AS id_number,
       any_value(o.to_region) AS region,
       any_value(o.insurance_type) AS insurance_type,
       o.transfer_id,
       json_object(
           'name', any_value(o.name),
           'stage', any_value(o.stage),
           'stage_on', any_value(o.stage_on),
           'submitted_on', any_value(o.submitted_on),
           'working_days_waited', max(w.working_days),
           'limit_days', any_value(o.limit_days),
           'from_region', any_value(o.from_region),
           'to_region', any_value(o.to_region),
           'calendar', CASE WHEN bool_and(w.official) THEN 'official' ELSE 'weekends_only' END,
           'source', any_value(struct_pack(kind := 'transfers', file := l.source_file, sheet := o.sheet, "row" := o.row_number))
       ) AS details
FROM open_transfers o
JOIN waited w ON w.transfer_id = o.transfer_id AND w.stage_on = o.stage_on
LEFT JOIN ingest.loads l ON l.load_id = o.load_id
WHERE w.working_days > o.limit_days
GROUP BY o.transfer_id
