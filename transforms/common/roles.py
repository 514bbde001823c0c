"""Who may see what (SPEC §8). Roles come from who runs the command, not from what they type.

The warehouse's ``actions.roles`` table maps operating-system user names to ``hr_manager``, ``hr_staff`` or
``finance``; the user who creates (or first upgrades) the warehouse is its first hr_manager. Every command
calls :func:`resolve_caller` once, before it reads or writes anything personal: it looks the caller up,
lets ``--role`` only lower the role, refuses a user with no role, and grants full ID numbers only to an
hr_manager who asks (``--full-ids``); refusals and full-ID requests are written to ``actions.audit``.

``ROLES`` holds the *views* the transforms render for (``get_role(name)``): ``hr_manager`` is the
full-ID view, ``hr_manager_masked`` the manager's default view (masked, may dismiss).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from warehouse.errors import ShebaoError
from warehouse.users import caller, seed_first_manager  # noqa: F401  (part of this module's interface)


class PermissionDenied(ShebaoError):
    """A role asked for something it may not do; recorded in the audit table by the caller."""


@dataclass(frozen=True)
class Role:
    name: str
    label: str
    sees_full_ids: bool
    may_dismiss: bool
    sees_findings: bool


ROLES = {
    "hr_manager": Role("hr_manager", "HR 经理", sees_full_ids=True, may_dismiss=True, sees_findings=True),
    "hr_staff": Role("hr_staff", "HR 专员", sees_full_ids=False, may_dismiss=False, sees_findings=True),
    "finance": Role("finance", "财务", sees_full_ids=False, may_dismiss=False, sees_findings=False),
    # the manager without --full-ids: everything masked by default (SPEC §8)
    "hr_manager_masked": Role("hr_manager", "HR 经理", sees_full_ids=False, may_dismiss=True,
                              sees_findings=True),
}
DEFAULT_ROLE = "hr_staff"
# The roles a user can be granted, highest first: --role may name the caller's own role or one below it.
GRANTABLE = ("hr_manager", "hr_staff", "finance")
RANK = {name: len(GRANTABLE) - i for i, name in enumerate(GRANTABLE)}


def get_role(name: str | None) -> Role:
    role = ROLES.get(name or DEFAULT_ROLE)
    if role is None:
        raise ShebaoError(f"The role {name!r} is unknown; use one of {', '.join(GRANTABLE)}.")
    return role


@dataclass(frozen=True)
class Caller:
    """Who runs the command and what they get: ``view`` is the role name to pass to the transforms
    (``get_role(view)``), ``role`` the effective role (for audit rows and dismissals)."""
    user: str
    granted: str
    role: str
    full_ids: bool

    @property
    def view(self) -> str:
        if self.role == "hr_manager":
            return "hr_manager" if self.full_ids else "hr_manager_masked"
        return self.role


def _audit(con, user: str, role: str, command: str, target: str | None, allowed: bool, reason: str | None,
           at: datetime | None = None) -> None:
    con.execute("INSERT INTO actions.audit VALUES (?, ?, ?, ?, ?, ?, ?)",
                [at or datetime.now(), user, role, command, target, allowed, reason])


def granted_role(con, user: str | None = None) -> str | None:
    """The role granted to ``user`` (default: the caller) in this warehouse, or None. Only a row an audited
    grant explains counts (``actions.granted_roles``, ``models/actions/granted_roles.sql``): a row written into
    ``actions.roles`` by hand, past ``shebao roles grant``, gives no role."""
    row = con.execute("SELECT role FROM actions.granted_roles WHERE user_name = ?", [user or caller()]).fetchone()
    return row[0] if row else None


def record_grant(con, user_name: str, role: str, by: str, by_role: str, command: str = "roles grant") -> None:
    """The role row and the audit row that explains it, with one timestamp: ``actions.granted_roles`` pairs
    them by user, role, granter and time."""
    now = datetime.now()
    con.execute("INSERT OR REPLACE INTO actions.roles VALUES (?, ?, ?, ?)", [user_name, role, by, now])
    _audit(con, by, by_role, command, user_name, True, role, now)


def resolve_caller(con, command: str, requested: str | None = None, *, full_ids: bool = False,
                   minimum: str = "finance", target: str | None = None) -> Caller:
    """The caller's role for ``command``, or PermissionDenied (audited where the connection may write).

    ``requested`` (``--role``) may only lower the granted role; ``minimum`` is the lowest role the command
    is for (``hr_manager`` for dismissals, policy overrides and role changes); ``full_ids`` is granted
    to an hr_manager only, and audited.
    """
    user = caller()
    granted = granted_role(con, user)
    if requested is not None and requested not in GRANTABLE:
        raise ShebaoError(f"The role {requested!r} is unknown; use one of {', '.join(GRANTABLE)}.")
    role = requested or granted

    def refuse(reason: str, sentence: str) -> NoReturn:
        try_audit(con, user, role or "none", command, target, False, reason)
        raise PermissionDenied(sentence)

    if granted is None or role is None:
        refuse("no role", f"The user {user} has no role in this warehouse, so it shows nothing personal; ask an HR"
                          f" manager to run `shebao roles grant {user} ROLE`.")
    if RANK[role] > RANK[granted]:
        refuse("--role above the granted role", f"The user {user} is {granted} and cannot act as {role}; --role"
                                                " may only lower your own role.")
    if RANK[role] < RANK[minimum]:
        refuse(f"needs {minimum}", f"The role {role} may not run `{command}`; it needs {minimum} or above.")
    if full_ids and role != "hr_manager":
        refuse("--full-ids needs hr_manager", f"The role {role} may not see full ID numbers; only an HR manager"
                                              " may pass --full-ids.")
    if full_ids:
        try_audit(con, user, role, command, target, True, "--full-ids")
    return Caller(user, granted, role, full_ids)


def try_audit(con, *row) -> None:
    """Record an audit row; a read-only connection (a read command) cannot, and the refusal stands."""
    read_only = con.execute("SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()"
                            ).fetchone()
    if not (read_only and read_only[0]):
        _audit(con, *row)


def grant(con, user_name: str, role: str) -> None:
    """``shebao roles grant USER ROLE`` (hr_managers only; audited)."""
    if role not in GRANTABLE:
        raise ShebaoError(f"The role {role!r} is unknown; use one of {', '.join(GRANTABLE)}.")
    if not user_name or not user_name.strip():
        raise ShebaoError("Name the operating-system user to grant a role to.")
    who = resolve_caller(con, "roles grant", minimum="hr_manager", target=user_name)
    if role != "hr_manager":
        _keep_a_manager(con, user_name.strip())
    record_grant(con, user_name.strip(), role, who.user, who.role)


def revoke(con, user_name: str) -> None:
    """``shebao roles revoke USER`` (hr_managers only; audited). The last hr_manager cannot be revoked:
    the warehouse would have no one left to grant roles."""
    who = resolve_caller(con, "roles revoke", minimum="hr_manager", target=user_name)
    if granted_role(con, user_name) is None:
        raise ShebaoError(f"The user {user_name} has no role in this warehouse; `shebao roles list` shows who has.")
    _keep_a_manager(con, user_name)
    con.execute("DELETE FROM actions.roles WHERE user_name = ?", [user_name])
    _audit(con, who.user, who.role, "roles revoke", user_name, True, None)


def _keep_a_manager(con, user_name: str) -> None:
    if granted_role(con, user_name) != "hr_manager":
        return
    others = con.execute("SELECT count(*) FROM actions.granted_roles WHERE role = 'hr_manager' AND user_name <> ?",
                         [user_name]).fetchone()[0]
    if not others:
        raise ShebaoError(f"{user_name} is the last HR manager of this warehouse; grant another first.")


def list_roles(con) -> list[tuple]:
    """``(user_name, role, granted_by, granted_at)``, by role then user (any user with a role may look)."""
    resolve_caller(con, "roles list")
    return con.execute("SELECT user_name, role, granted_by, granted_at FROM actions.granted_roles"
                       " ORDER BY CASE role WHEN 'hr_manager' THEN 0 WHEN 'hr_staff' THEN 1 ELSE 2 END, user_name"
                       ).fetchall()


def require_role(warehouse, command: str, requested: str | None = None, *, full_ids: bool = False,
                 minimum: str = "finance", target: str | None = None) -> Caller:
    """:func:`resolve_caller` on a connection of its own: the flows call it, so a run started by a
    deployment's worker (no CLI in between) needs a role granted to the worker's OS user too, and a
    ``role``/``full_ids`` parameter is checked against it as ``--role``/``--full-ids`` are."""
    from warehouse.db import opened

    with opened(warehouse) as con:
        return resolve_caller(con, command, requested, full_ids=full_ids, minimum=minimum, target=target)
