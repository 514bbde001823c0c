"""Errors a user can cause. Their text is one sentence, safe to print: never personal data."""


class ShebaoError(Exception):
    """A problem the user can fix; the CLI prints the message and exits non-zero."""


class WarehouseError(ShebaoError):
    """The warehouse file cannot be opened, locked, or written."""


class InputError(ShebaoError):
    """An input (inbox, policy file, parameter) is unusable."""


_NO_SPACE = ("no space left on device", "disk quota exceeded")
_READ_ONLY = ("read-only file system", "permission denied")


def storage_error(exc: BaseException) -> ShebaoError | None:
    """A full, read-only or unwritable disk (the warehouse's or ``--out``'s) as one sentence; else None.

    DuckDB reports it inside its own exceptions' text, the standard library as an OSError errno."""
    import errno

    text = str(exc).lower()
    where = getattr(exc, "filename", None)
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        problem = "there is no space left on its disk"
    elif isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        problem = "its disk is read-only or not writable for this user"
    elif not isinstance(exc, OSError) and any(marker in text for marker in _NO_SPACE):
        problem = "there is no space left on its disk"
    elif not isinstance(exc, OSError) and any(marker in text for marker in _READ_ONLY):
        problem = "its disk is read-only or not writable for this user"
    else:
        return None
    if where is None and '"' in text:  # DuckDB: Could not write file "/path/w.duckdb.wal": ...
        where = str(exc).split('"')[1]
    place = f"{where} " if where else "a file "
    return WarehouseError(f"shebao could not write {place}because {problem}; free space (or choose a writable "
                          "folder) and run again: files that failed to load are loaded by the next run.")
