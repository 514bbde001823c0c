"""Run identifiers: text that sorts in the order runs started."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def new_run_id() -> str:
    """``20240305T101502123456Z-3fa2``: UTC start time to the microsecond, then a short random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(2)
