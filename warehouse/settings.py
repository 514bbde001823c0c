"""Every ``SHEBAO_*`` setting, read in one typed place.

Settings are read when a command or a flow run needs them (never frozen at import or at deploy time),
so a deployment picks up its worker's environment. A bad value is one sentence naming the variable.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from warehouse.errors import InputError

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib|tb|tib)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3,
          "tb": 1000**4, "tib": 1024**4}
# Below this DuckDB cannot hold a close's working set (measured: 60MB ran out of memory on the sample).
MIN_MEMORY_BYTES = 256 * 1000**2
# DuckDB's share of the 2 GB a close may use (docs/memory.md); the ingest holds it to half of this
# (warehouse.db.bulk_writing). 512MB is too little for the action list at 200,000 employees (DuckDB ran out
# of memory in actions_found.sql); 2GB, the old default, took a year's first month to 3.4 GB. Queries
# larger than the limit spill to <warehouse>.tmp/.
DEFAULT_DUCKDB_MEMORY = "1GB"


def whole_number_setting(variable: str, default: int, unit: str) -> int:
    """A setting read where a stage needs it, outside ``Settings`` (the ingest's chunk, the largest sheet): a
    whole number, 1 or more, or ``default`` when unset; a bad value is one sentence naming the variable."""
    import os

    text = os.environ.get(variable)
    if not text:
        return default
    if not text.strip().isdigit() or int(text) < 1:
        raise InputError(f"{variable} is {text!r}; set it to a whole number of {unit}, 1 or more.")
    return int(text)


def memory_bytes(text: str) -> int | None:
    """Bytes of a DuckDB memory size such as ``2GB`` or ``800MB``; None when it is not one."""
    match = _SIZE.match(text or "")
    if not match:
        return None
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "b").lower()])


class Settings(BaseSettings):
    """The environment variables shebao reads (prefix ``SHEBAO_``)."""

    model_config = SettingsConfigDict(env_prefix="SHEBAO_", extra="ignore", env_ignore_empty=True)

    warehouse: Path | None = Field(None, description="The DuckDB warehouse file (default ./shebao.duckdb).")
    warehouse_key: SecretStr | None = Field(None, description="Key of an AES-encrypted warehouse.")
    warehouse_key_block: str = Field("shebao-warehouse-key",
                                     description="Prefect Secret block holding the key, for deployed runs.")
    inbox: Path | None = Field(None, description="Folder of extract files (deployments).")
    out: Path | None = Field(None, description="Folder for reports and exports (default ./out).")
    clients: Path | None = Field(None, description="Folder of client folders, for the fleet close (deployments).")
    lock_wait: float = Field(30.0, description="Seconds to wait for another run holding the warehouse.")
    duckdb_memory: str = Field(DEFAULT_DUCKDB_MEMORY, description="DuckDB's memory limit, e.g. 512MB or 2GB.")
    duckdb_threads: int | None = Field(None, description="DuckDB's threads per connection (default one a core).")
    dask_address: str | None = Field(None, description="Dask scheduler for the per-entity work.")
    timezone: str = Field("Asia/Shanghai", description="Time zone that names the month a scheduled close closes.")
    retries: int = Field(2, ge=0, le=10, description="Retries of a deployed close or ingest after a failure.")
    retry_delay: float = Field(600.0, ge=0, description="Seconds between those retries.")

    @field_validator("lock_wait", mode="before")
    @classmethod
    def _lock_wait(cls, value):
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise ValueError("is not a number of seconds") from None
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("is not a number of seconds")
        return seconds

    @field_validator("duckdb_memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        size = memory_bytes(value)
        if size is None:
            raise ValueError("is not a memory size")
        if size < MIN_MEMORY_BYTES:
            raise ValueError("is too small")
        return value.strip()

    @field_validator("duckdb_threads", mode="before")
    @classmethod
    def _threads(cls, value):
        if value is None:
            return None
        text = str(value).strip()
        if not text.isdigit() or int(text) < 1:
            raise ValueError("is not a number of threads")
        return int(text)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except Exception:
            raise ValueError("is not a time zone") from None
        return value


_FIXES = {
    "lock_wait": "set it to a number of seconds, e.g. 30 (0 = try once)",
    "duckdb_memory": "set it to at least 256MB, e.g. 2GB",
    "duckdb_threads": "set it to a whole number, 1 or more, or unset it for one a core",
    "timezone": "set it to a time zone such as Asia/Shanghai",
    "retries": "set it to a whole number from 0 to 10",
    "retry_delay": "set it to a number of seconds, e.g. 600",
}


def settings() -> Settings:
    """The settings as the environment has them now; one sentence for the first bad value.

    Read again only when a ``SHEBAO_*`` variable changed: pydantic takes most of a millisecond to read them, and a
    close asks hundreds of times (each connection, each share of DuckDB's memory). A copy each time: a caller
    changing its settings changes nobody else's."""
    import os

    given = tuple(sorted((name, value) for name, value in os.environ.items() if name.upper().startswith("SHEBAO_")))
    if _READ and _READ[0][0] == given:
        return _READ[0][1].model_copy()
    try:
        read = Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error.get("loc") else ""
        variable = f"SHEBAO_{field.upper()}"
        value = os.environ.get(variable, "")
        reason = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
        fix = _FIXES.get(field, "correct or unset it")
        raise InputError(f"{variable}={value!r} {reason}; {fix}.") from None
    _READ[:] = [(given, read)]
    return read.model_copy()


_READ: list[tuple[tuple[tuple[str, str], ...], Settings]] = []  # the environment last read, and its settings
