-- SPEC §6 version 3: a finding code's action type may depend on its details (TRANSFER_NEEDED with
-- interim_account_check calls for CONFIRM_INTERIM_ACCOUNT, not INITIATE_TRANSFER). The condition (a DuckDB
-- expression over finding f) and the type it calls for are the code's registry row, written here by each
-- validation like the other columns of migration 020. actions.cleanup_actions has no CHECK on action_type.
ALTER TABLE quality.checks ADD COLUMN action_if VARCHAR;
ALTER TABLE quality.checks ADD COLUMN action_if_type VARCHAR;
