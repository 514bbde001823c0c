"""Who may see what (the seed's permission model). One table, consulted by every report and export."""

from __future__ import annotations

from dataclasses import dataclass

from warehouse.errors import ShebaoError


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
}
DEFAULT_ROLE = "hr_staff"


def get_role(name: str | None) -> Role:
    role = ROLES.get(name or DEFAULT_ROLE)
    if role is None:
        raise ShebaoError(f"The role {name!r} is unknown; use one of {', '.join(ROLES)}.")
    return role
