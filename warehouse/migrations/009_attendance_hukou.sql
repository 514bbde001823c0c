-- SPEC v2 §2: attendance may carry the employee's 户籍所在地 (hukou_region, as given), which the
-- interim-account notice of INITIATE_TRANSFER reads (SPEC §6).
ALTER TABLE staging.attendance ADD COLUMN hukou_region VARCHAR;
