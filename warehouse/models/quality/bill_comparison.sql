-- SPEC §5 BILL_MISMATCH's comparison, the one statement of it: for each region with bill rows for P, per
-- (id_number, insurance_type, region) the billed amounts (bill rows of our employers, summed) beside the
-- ledger's net amounts for P (summed over our entities, R = that region); a side without rows counts 0
-- (`billed` / `booked` say which sides have rows). "Our employers": entities seen in payroll up to P (both
-- names staged with SPEC §2's organisation-name normalisation, so they compare as they are). The check
-- (expectations/checks/bill_mismatch.sql) keeps the rows differing by 1.00 or more; the reconciliation
-- (transforms/ledger/reconcile.py) totals them per region.
CREATE OR REPLACE MACRO quality.bill_comparison(p) AS TABLE
WITH our_entities AS (
    SELECT entity AS employer FROM quality.our_entities(p)
),
bill_rows AS (
    SELECT b.*, l.source_file
    FROM core.bills b
    LEFT JOIN ingest.loads l ON l.load_id = b.load_id
    WHERE b.period = p
),
bill_regions AS (SELECT DISTINCT region FROM bill_rows),
billed AS (
    SELECT id_number, insurance_type, region,
           sum(employer_amount) AS employer_amount, sum(employee_amount) AS employee_amount,
           max(base) AS base,
           arg_min(name, row_number) AS name,
           min(employer) AS employer,
           arg_min_null(struct_pack(kind := 'bill', file := source_file, sheet := sheet, "row" := row_number),
                        row_number) AS source
    FROM bill_rows
    WHERE employer IN (SELECT employer FROM our_entities)
    GROUP BY id_number, insurance_type, region
),
booked AS (
    SELECT id_number, insurance_type, region,
           sum(employer_amount) AS employer_amount, sum(employee_amount) AS employee_amount,
           max(base) AS base,
           min(name) AS name,
           CASE WHEN count(DISTINCT entity) = 1 THEN min(entity) END AS entity,
           CASE WHEN count(DISTINCT employee_id) = 1 THEN min(employee_id) END AS employee_id
    -- P's cells only when P has bill rows (no month is '': no cell): without, DuckDB still summed every cell
    -- of P for a comparison with nothing (issue 28)
    FROM ledger.net_contributions(CASE WHEN EXISTS (SELECT 1 FROM bill_regions) THEN p ELSE '' END)
    WHERE period = p AND region IN (SELECT region FROM bill_regions)
    GROUP BY id_number, insurance_type, region
)
SELECT p AS period,
       coalesce(b.id_number, l.id_number) AS id_number,
       coalesce(b.insurance_type, l.insurance_type) AS insurance_type,
       coalesce(b.region, l.region) AS region,
       coalesce(l.name, b.name) AS name,
       coalesce(l.entity, b.employer) AS entity,
       l.employee_id,
       b.employer AS billed_employer,
       b.id_number IS NOT NULL AS billed,
       l.id_number IS NOT NULL AS booked,
       coalesce(b.employer_amount, 0) AS billed_employer_amount,
       coalesce(b.employee_amount, 0) AS billed_employee_amount,
       coalesce(l.employer_amount, 0) AS ledger_employer_amount,
       coalesce(l.employee_amount, 0) AS ledger_employee_amount,
       b.base AS billed_base,
       l.base AS ledger_base,
       b.source
FROM billed b
FULL OUTER JOIN booked l
  ON l.id_number = b.id_number AND l.insurance_type = b.insurance_type AND l.region = b.region;
