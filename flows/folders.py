"""The one rule for where outputs go when no folder is given, for every command and flow."""

from __future__ import annotations

from pathlib import Path

DEFAULT_OUT = "out"


def out_folder(out: str | Path | None = None) -> Path:
    """``out`` as given, else ``$SHEBAO_OUT``, else ``./out``; made absolute from the working directory
    (GX's Data Docs need an absolute folder, and a deployment's worker may change directory)."""
    from warehouse.settings import settings

    return Path(out or settings().out or Path.cwd() / DEFAULT_OUT).resolve()
