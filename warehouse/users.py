"""Who runs shebao: the operating-system user, and the warehouse's first HR manager (SPEC §8).

Here, below the transforms, because creating (or first upgrading) a warehouse seeds its roles table.
"""

from __future__ import annotations

import os
from datetime import datetime


def caller() -> str:
    """The operating-system user running this process, from the real user id (``$USER``/``$LOGNAME`` can
    be set by anyone, so they are not asked)."""
    uid = os.getuid()
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):  # no passwd entry (some containers): the uid is the name
        return f"uid{uid}"


def seed_first_manager(con) -> str | None:
    """The user who creates (or first upgrades) the warehouse becomes its hr_manager, when no one has a role."""
    if con.execute("SELECT count(*) FROM actions.roles").fetchone()[0]:
        return None
    user, now = caller(), datetime.now()
    # the creation record explains the row (actions.granted_roles counts only rows an audit row explains)
    con.execute("INSERT INTO actions.roles VALUES (?, 'hr_manager', ?, ?)", [user, user, now])
    con.execute("INSERT INTO actions.audit VALUES (?, ?, 'hr_manager', 'create warehouse', ?, true, 'hr_manager')",
                [now, user, user])
    return user
