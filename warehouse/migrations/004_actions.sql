-- Cleanup actions (SPEC §6, §7): one row per problem, its history append-only beside it.
CREATE SCHEMA IF NOT EXISTS actions;

CREATE TABLE actions.cleanup_actions (
    action_id         VARCHAR PRIMARY KEY,   -- derived from the action type and the problem's key
    action_type       VARCHAR NOT NULL,
    status            VARCHAR NOT NULL CHECK (status IN ('open', 'resolved', 'dismissed')),
    period_first_seen VARCHAR NOT NULL,
    period_last_seen  VARCHAR NOT NULL,
    entity            VARCHAR,
    employee_id       VARCHAR,
    id_number         VARCHAR,
    finding_codes     VARCHAR[] NOT NULL,
    details           JSON,
    updated_at        TIMESTAMP NOT NULL,
    severity          VARCHAR NOT NULL,
    problem_key       VARCHAR NOT NULL,
    last_run_id       VARCHAR NOT NULL,
    resolved_by_run   VARCHAR,
    dismissed_reason  VARCHAR
);

-- Every change of an action, never updated: what happened, from which status to which, who and why.
CREATE TABLE actions.action_events (
    action_id   VARCHAR NOT NULL,
    event       VARCHAR NOT NULL,    -- opened, updated, resolved, reopened, dismissed
    from_status VARCHAR,
    to_status   VARCHAR NOT NULL,
    run_id      VARCHAR,
    period      VARCHAR,
    actor       VARCHAR,
    reason      VARCHAR,
    occurred_at TIMESTAMP NOT NULL
);

-- Who asked for what, allowed or refused (dismissals, role refusals).
CREATE TABLE actions.audit (
    occurred_at TIMESTAMP NOT NULL,
    actor   VARCHAR NOT NULL,
    role    VARCHAR NOT NULL,
    command VARCHAR NOT NULL,
    target  VARCHAR,
    allowed BOOLEAN NOT NULL,
    reason  VARCHAR
);
