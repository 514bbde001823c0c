-- The roles that count (SPEC §8, issue 30.4): a row of actions.roles counts only when the last allowed
-- role change audited for its user (a grant, a revoke, the warehouse's creation or the 025 upgrade) is the
-- grant of this very row: same role, same granter (an hr_manager then) and same time. A row written into
-- the table past `shebao roles grant`, or left behind by a revoke, is explained by no audit row.
CREATE OR REPLACE VIEW actions.granted_roles AS
WITH roles AS (
    SELECT user_name, role, granted_by, granted_at FROM actions.roles
),

audit AS (
    SELECT occurred_at, actor, role, command, target, allowed, reason FROM actions.audit
),

last_change AS (
    SELECT target AS user_name, command, reason AS role, actor, role AS actor_role, occurred_at
    FROM audit
    WHERE allowed AND command IN ('roles grant', 'roles revoke', 'create warehouse', 'upgrade 025')
    QUALIFY row_number() OVER (PARTITION BY target ORDER BY occurred_at DESC, command = 'roles revoke' DESC) = 1
),

explained AS (
    SELECT r.user_name, r.role, r.granted_by, r.granted_at
    FROM roles r
    JOIN last_change c
      ON c.user_name = r.user_name AND c.command <> 'roles revoke' AND c.role = r.role
     AND c.actor = r.granted_by AND c.actor_role = 'hr_manager' AND c.occurred_at = r.granted_at
)

SELECT * FROM explained
