-- SPEC §7 public interface: staged bill rows, current after supersession. Columns hold from release to release.
CREATE OR REPLACE VIEW ingest.bills AS
SELECT period, id_number, name, region, employer, insurance_type, base, employer_amount, employee_amount, load_id
FROM core.bills;
