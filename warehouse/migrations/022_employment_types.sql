-- SPEC v3 §2/§3: attendance may carry 用工形式 (employment_type: full_time, part_time, retiree, intern; NULL when
-- the file has no such column) and 岗位类别 (position_category: worker, cadre; NULL when not given). The ledger
-- keeps both from the latest attendance row up to P with its per-employee snapshot: the levied types
-- (ref.levied_types) and the statutory retirement age (ref.statutory_retirement) read them from there.
-- actions.cleanup_actions.action_type has no CHECK constraint, so PREPARE_RETIREMENT needs no rebuild.
ALTER TABLE staging.attendance ADD COLUMN employment_type VARCHAR;
ALTER TABLE staging.attendance ADD COLUMN position_category VARCHAR;
ALTER TABLE ledger.employee_months ADD COLUMN employment_type VARCHAR;
ALTER TABLE ledger.employee_months ADD COLUMN position_category VARCHAR;
