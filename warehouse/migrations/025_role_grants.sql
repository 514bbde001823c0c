-- Verifiable grants (issue 30.4). A role counts only when an audited grant explains its row
-- (model 025a, actions.granted_roles): `shebao roles grant` and the warehouse's creation write the role row
-- and its audit row with one timestamp. Rows granted before this migration were audited a moment after
-- their row was written (or, for the creator, not at all): each row present at the upgrade is recorded as
-- explained by it, at the upgrade's (local) time, the row taking that time too, so that the upgrade is
-- each user's last audited change; the original grant stays in the audit. Rows written by hand afterwards
-- count for nothing.
UPDATE actions.roles SET granted_at = current_localtimestamp();

INSERT INTO actions.audit
SELECT r.granted_at, r.granted_by, 'hr_manager', 'upgrade 025', r.user_name, true, r.role
FROM actions.roles r;
