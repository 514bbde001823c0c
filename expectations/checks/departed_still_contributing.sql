-- DEPARTED_STILL_CONTRIBUTING: an employee whose latest attendance row up to P has a leave_date before the
-- first day of P, whose id_number (from that row, else from the employee's payroll rows) is on none of
-- P's payroll rows of that entity, while an active record covering P for that id_number has that entity
-- as employer. One row per (entity, employee_id). details.stop_month: the 减员's 停保年月, the first month
-- the ledger does not charge (ledger.stop_month, SPEC §4.3), with the cutoff of the record's region.
WITH scope AS (SELECT period FROM {batch}),
latest AS (SELECT * FROM core.latest_attendance((SELECT period FROM scope))),
departed AS (
    SELECT d.*,
           coalesce(nullif(d.id_number, ''), (
               SELECT arg_max(y.id_number, y.period) FROM core.payroll y
               WHERE y.entity = d.entity AND y.employee_id = d.employee_id
                 AND y.period <= (SELECT period FROM scope))) AS person_id
    FROM latest d
    WHERE d.leave_date < CAST((SELECT period FROM scope) || '-01' AS DATE)
),
records AS (
    SELECT * FROM quality.insurance_snapshot((SELECT period FROM scope)) WHERE active_covering
)
SELECT (SELECT period FROM scope) AS period,
       d.entity, d.employee_id, d.person_id AS id_number,
       min(r.region) AS region,
       NULL AS insurance_type, NULL AS transfer_id,
       json_object(
           'name', any_value(d.name),
           'leave_date', any_value(d.leave_date),
           'stop_month', min(ledger.stop_month(d.hire_date, d.leave_date, g.hire_cutoff_day, g.late_hire_fraction)),
           'attendance_period', any_value(d.period),
           'records', list(struct_pack(insurance_type := r.insurance_type, region := r.region, base := CAST(r.base AS VARCHAR),
                                       start_month := r.start_month, end_month := r.end_month)
                           ORDER BY r.insurance_type, r.region),
           'source', any_value(struct_pack(kind := 'attendance', file := l.source_file, sheet := d.sheet, "row" := d.row_number))
       ) AS details
FROM departed d
JOIN records r ON r.id_number = d.person_id AND r.employer = d.entity
LEFT JOIN ingest.loads l ON l.load_id = d.load_id
LEFT JOIN ref.regions g ON g.region = r.region
WHERE NOT EXISTS (
    SELECT 1 FROM core.payroll y
    WHERE y.period = (SELECT period FROM scope) AND y.entity = d.entity AND y.id_number = d.person_id
)
GROUP BY d.entity, d.employee_id, d.person_id
