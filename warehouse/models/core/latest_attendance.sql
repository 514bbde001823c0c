-- SPEC §4.2 "the latest attendance row": for each (entity, employee_id), the current attendance row with
-- the latest period <= p; of two rows for that period, the later one in its file (rows in sheet order).
-- The ledger's employment dates, DEPARTED_STILL_CONTRIBUTING and the declarations all read this one
-- definition, so they cannot disagree about who has left.
-- employment_type and position_category (SPEC §3, §5) are those of the latest row that carries them: a file
-- without the column (a daily attendance export) says nothing about them, while a roster's blank 用工形式
-- was staged as full-time.
CREATE OR REPLACE MACRO core.latest_attendance(p) AS TABLE
SELECT entity, employee_id, latest.*, employment_type, position_category
FROM (
    SELECT entity, employee_id,
           max_by(struct_pack(period, name, id_number, hire_date, leave_date, hukou_region, hukou_province, load_id, sheet,
                              row_number),
                  (period, load_id, row_number)) AS latest,
           max_by(employment_type, (period, load_id, row_number)) FILTER (WHERE employment_type IS NOT NULL)
               AS employment_type,
           max_by(position_category, (period, load_id, row_number)) FILTER (WHERE position_category IS NOT NULL)
               AS position_category
    FROM core.attendance
    WHERE period <= p AND hire_date IS NOT NULL  -- the latest row that has them: a daily export has none (SPEC §2 v3)
    GROUP BY entity, employee_id
);
