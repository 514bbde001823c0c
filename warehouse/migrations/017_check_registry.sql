-- The finding codes the validation ran with, from expectations/registry.py (written by each validation):
-- readers such as the HR report take each code's severity and Chinese title from here, so the layers
-- below the checks never import them.
CREATE TABLE quality.checks (
    ordinal     INTEGER NOT NULL,
    code        VARCHAR PRIMARY KEY,
    severity    VARCHAR NOT NULL CHECK (severity IN ('error', 'warning')),
    key         VARCHAR[] NOT NULL,
    suite       VARCHAR NOT NULL,
    suite_zh    VARCHAR NOT NULL,
    title_zh    VARCHAR NOT NULL,
    description VARCHAR NOT NULL
);
