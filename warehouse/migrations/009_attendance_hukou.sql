-- SPEC v2 §2: attendance may carry the employee's 户籍所在地 (hukou_region, as given) and with it the
-- province it names (hukou_province, short form as ref.regions.province, NULL when unsure), which the
-- interim-account notice of INITIATE_TRANSFER reads (SPEC §6).
ALTER TABLE staging.attendance ADD COLUMN hukou_region VARCHAR;
ALTER TABLE staging.attendance ADD COLUMN hukou_province VARCHAR;
