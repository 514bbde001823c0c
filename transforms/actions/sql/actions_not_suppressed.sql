-- The actions the lifecycle works with: every part's candidates (actions_found.sql) but those a transfer
-- under way makes moot. Run once, after the last part.
CREATE OR REPLACE TEMP TABLE found_actions AS
SELECT * EXCLUDE (suppressed_by) FROM candidate_actions WHERE suppressed_by IS NULL;
