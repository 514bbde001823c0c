"""``shebao``: one entry point for every stage. Errors a user can cause end in one sentence, exit 2."""

from __future__ import annotations

import importlib
import logging
import sys
import traceback
from pathlib import Path

import typer

import flows.settings  # noqa: F401  (telemetry off before Prefect loads)
from transforms.privacy import redact
from warehouse.errors import ShebaoError

app = typer.Typer(
    name="shebao",
    help="社保 compliance: ingest HR extracts, validate, build the contribution ledger and the action list.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Each area registers its commands from its own module: cli_<area>.register(app).
_COMMAND_MODULES = ["flows.cli_ingest", "flows.cli_ledger", "flows.cli_validate", "flows.cli_actions", "flows.cli_close",
                    "flows.cli_sample"]
for _name in _COMMAND_MODULES:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # an area not built yet
        if exc.name != _name:
            raise
        continue
    _module.register(app)


def _crash_log() -> Path:
    return Path.cwd() / "shebao-error.log"


def main() -> None:
    """Console entry point."""
    try:
        app(standalone_mode=False)
    except ShebaoError as exc:
        typer.echo(f"shebao: {redact(str(exc))}", err=True)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("shebao: stopped.", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors come through here too
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        from warehouse.errors import storage_error

        if (sentence := storage_error(exc)) is not None:  # a full or read-only disk: the user frees space
            typer.echo(f"shebao: {redact(str(sentence))}", err=True)
            sys.exit(2)
        log = _crash_log()
        try:
            log.write_text(redact(traceback.format_exc()), encoding="utf-8")
            where = f"; details (without personal data) are in {log}"
        except OSError:
            where = ""
        logging.getLogger("shebao").debug("unexpected error", exc_info=False)
        typer.echo(f"shebao: an unexpected {type(exc).__name__} stopped the run{where}.", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
