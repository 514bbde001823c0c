"""The one rule for where outputs go when no folder is given, for every command and flow."""

from __future__ import annotations

from pathlib import Path

DEFAULT_OUT = "out"


def out_folder(out: str | Path | None = None) -> Path:
    """``out`` as given, else ``$SHEBAO_OUT``, else ``./out``; made absolute from the working directory
    (GX's Data Docs need an absolute folder, and a deployment's worker may change directory)."""
    from warehouse.settings import settings

    return Path(out or settings().out or Path.cwd() / DEFAULT_OUT).resolve()


# Folders whose name holds an ID-like number, by the opaque reference a flow gets instead (issue 30.3):
# Prefect stores every flow run's parameters, so an inbox named after a person (`…/430102…/`) must not be one.
_PRIVATE: dict[str, str] = {}
REFERENCE_PREFIX = "folder:"


def folder_parameter(folder: str | Path) -> str:
    """What to pass a flow for ``folder``: the path itself, or an opaque reference when its name holds an ID
    number (resolved by :func:`folder_path` in this process, which the CLI's flows run in)."""
    import hashlib

    from transforms.common.privacy import redact

    text = str(folder)
    if redact(text) == text:
        return text
    reference = REFERENCE_PREFIX + hashlib.sha256(text.encode()).hexdigest()[:16]
    _PRIVATE[reference] = text
    return reference


def folder_path(parameter: str) -> str:
    """The folder a flow parameter stands for (see :func:`folder_parameter`)."""
    return _PRIVATE.get(parameter, parameter)
