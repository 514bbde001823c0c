-- Verifiable grants (issue 30.4). A role counts only when an audited grant explains its row
-- (model 025a, actions.granted_roles): `shebao roles grant` and the warehouse's creation write the role row
-- and its audit row with one timestamp. Rows granted before this migration were audited at slightly
-- different times (or, for the creator, not at all): each row present now is recorded once as explained by
-- this upgrade, so an upgraded warehouse keeps its roles; rows written by hand afterwards count for nothing.
INSERT INTO actions.audit
SELECT r.granted_at, r.granted_by, 'hr_manager', 'upgrade 025', r.user_name, true, r.role
FROM actions.roles r;
