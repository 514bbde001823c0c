"""Errors a user can cause. Their text is one sentence, safe to print: never personal data."""


class ShebaoError(Exception):
    """A problem the user can fix; the CLI prints the message and exits non-zero."""


class WarehouseError(ShebaoError):
    """The warehouse file cannot be opened, locked, or written."""


class InputError(ShebaoError):
    """An input (inbox, policy file, parameter) is unusable."""
