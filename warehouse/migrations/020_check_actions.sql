-- Everything about a finding code is one row of expectations/registry.py, written here by each validation:
-- the actions stage takes its action type, needs and problem-key expression from these columns, the HR
-- report and workbook its evidence sentence (a Jinja template over the finding's details). Rows written
-- before this migration have them NULL until the next validation rewrites the table.
ALTER TABLE quality.checks ADD COLUMN action_type VARCHAR;
ALTER TABLE quality.checks ADD COLUMN needs VARCHAR[];
ALTER TABLE quality.checks ADD COLUMN problem_key VARCHAR;
ALTER TABLE quality.checks ADD COLUMN evidence_zh VARCHAR;
