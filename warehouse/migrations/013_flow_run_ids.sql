-- The Prefect flow run that wrote each run's rows (empty for runs made without Prefect): from a row of the
-- warehouse to the orchestrator's logs and state history of the run that wrote it.
ALTER TABLE ingest.loads ADD COLUMN IF NOT EXISTS flow_run_id VARCHAR;
ALTER TABLE ledger.runs ADD COLUMN IF NOT EXISTS flow_run_id VARCHAR;
ALTER TABLE quality.runs ADD COLUMN IF NOT EXISTS flow_run_id VARCHAR;
