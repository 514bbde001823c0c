-- Roles from who runs the command (SPEC §8): operating-system user names and what each may see and do.
-- The first hr_manager is the user who creates (or first upgrades) the warehouse: warehouse.db.connect
-- seeds it when this migration is applied (transforms.roles.seed_first_manager). Changes are audited in
-- actions.audit (`shebao roles grant/revoke`).
CREATE SCHEMA IF NOT EXISTS actions;

CREATE TABLE actions.roles (
    user_name  VARCHAR PRIMARY KEY,
    role       VARCHAR NOT NULL CHECK (role IN ('hr_manager', 'hr_staff', 'finance')),
    granted_by VARCHAR NOT NULL,
    granted_at TIMESTAMP NOT NULL
);
