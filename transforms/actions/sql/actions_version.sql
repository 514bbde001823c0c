-- The action list's version (transforms/actions/cleanup.py list_version): a digest of every action's whole row
-- and of the check registry its titles and evidence sentences come from. Any change to either (an action
-- opened, resolved, submitted or dismissed, its evidence replaced; a new registry) changes it.
SELECT concat_ws('/',
    (SELECT count(*) || ':' || coalesce(CAST(bit_xor(hash(a)) AS VARCHAR), '') FROM actions.cleanup_actions a),
    (SELECT count(*) || ':' || coalesce(CAST(bit_xor(hash(c)) AS VARCHAR), '') FROM quality.checks c))
