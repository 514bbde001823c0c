-- A finding code's row in expectations/registry.py says everything later stages do with it (issue 27): which
-- SPEC §7 declarations its findings feed (quality.declared_findings reads this, not the code's name) and
-- whether a known transfer makes its action moot (transforms/actions/sql/actions_findings.sql). Written by each
-- validation like the columns of migrations 020 and 024; NULL in rows written before it until the next one.
ALTER TABLE quality.checks ADD COLUMN declarations VARCHAR[];
ALTER TABLE quality.checks ADD COLUMN moot_with_transfer BOOLEAN;
