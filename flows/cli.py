"""``shebao``: one entry point for every stage.

A usage mistake (unknown command or option, missing or malformed value) is one sentence and exit 2;
an error the user can fix is one sentence and exit 2; only a bug leaves a log file. typer 0.29 raises the
exceptions of its vendored click (``typer._click``), so both its classes and click's are recognised.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

from flows import (
    cli_actions,
    cli_alerts,
    cli_close,
    cli_fleet,
    cli_ingest,
    cli_ledger,
    cli_policy,
    cli_profile,
    cli_roles,
    cli_sample,
    cli_validate,
)
from warehouse.errors import ShebaoError

app = typer.Typer(
    name="shebao",
    help="社保 compliance: ingest HR extracts, validate, build the contribution ledger and the action list.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("shebao")
    except PackageNotFoundError:  # run from a checkout that was not installed
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"shebao {version()}")
        raise typer.Exit(0)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the orchestrator's (Prefect's) logs too.")] = False,
    _version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                           help="Print the version and exit.")] = False,
) -> None:
    """社保 compliance: ingest HR extracts, validate, build the contribution ledger and the action list."""
    from flows import console

    console.OPTIONS["verbose"] = verbose

# Each area registers its commands from its own module, cli_<area>.register(app); the order is --help's.
# The modules import only what their options need: the stages' own imports wait inside the commands.
for _area in (cli_ingest, cli_ledger, cli_validate, cli_actions, cli_close, cli_sample, cli_roles, cli_alerts,
              cli_profile, cli_policy, cli_fleet):
    _area.register(app)


def redact(text: str) -> str:
    """``transforms.common.privacy.redact``, imported when a message is shown (polars is behind it: not for --help)."""
    from transforms.common.privacy import redact as redact_text

    return redact_text(text)


def _crash_log() -> Path:
    return Path.cwd() / "shebao-error.log"


def _click_classes() -> tuple[tuple[type, ...], tuple[type, ...], tuple[type, ...]]:
    """(ClickException, Abort, Exit) classes: typer's own and its vendored click's, and the click package's
    where it is installed."""
    from typer._click import exceptions as typer_click

    modules = [typer_click]
    try:
        from click import exceptions as click_exceptions
    except ImportError:  # click itself is not installed
        pass
    else:
        modules.append(click_exceptions)
    clicks: list[type] = [module.ClickException for module in modules]
    aborts: list[type] = [typer.Abort] + [getattr(module, "Abort", typer.Abort) for module in modules]
    exits: list[type] = [typer.Exit] + [getattr(module, "Exit", typer.Exit) for module in modules]
    return tuple(clicks), tuple(aborts), tuple(exits)


def usage_sentence(exc) -> str:
    """One sentence for a usage mistake: what was wrong, and where help is."""
    message = " ".join(exc.format_message().replace("Value error, ", "").split())
    context = getattr(exc, "ctx", None)
    command = context.command_path if context is not None else "shebao"
    message = message[:1].lower() + message[1:] if message[:2] != message[:2].upper() else message
    return f"{command}: {message.rstrip('.')}; see `{command} --help`."


def main(argv: list[str] | None = None) -> None:
    """The command line. Without ``argv`` it is this process's command (``python -m flows.cli``; ``shebao`` and
    ``python -m flows.launch`` start a flow command's server first), and the process ends with it
    (``flows.runtime.ending``); with ``argv`` (a caller in its own process, a test) it only returns or raises
    ``SystemExit``."""
    if argv is None:
        from flows.runtime import ending

        ending.ends_with_the_command()
        ending.run_command(main)
        return
    clicks, aborts, exits = _click_classes()
    try:
        code = app(args=argv, prog_name="shebao", standalone_mode=False)
    except ShebaoError as exc:
        typer.echo(f"shebao: {redact(str(exc))}", err=True)
        sys.exit(2)
    except aborts + (KeyboardInterrupt,):
        typer.echo("shebao: stopped.", err=True)
        sys.exit(130)
    except exits as exc:
        sys.exit(getattr(exc, "exit_code", 0))
    except clicks as exc:
        typer.echo(redact(usage_sentence(exc)), err=True)
        sys.exit(2 if getattr(exc, "exit_code", 2) in (None, 1, 2) else exc.exit_code)
    except Exception as exc:
        import duckdb

        from warehouse.errors import storage_error

        if (sentence := storage_error(exc)) is not None:  # a full or read-only disk: the user frees space
            typer.echo(f"shebao: {redact(str(sentence))}", err=True)
            sys.exit(2)
        from warehouse.db import damaged_sentence

        if (sentence := damaged_sentence(exc)) is not None:  # a damaged file: a sentence, not a crash log
            typer.echo(f"shebao: {redact(sentence)}", err=True)
            sys.exit(2)
        if isinstance(exc, duckdb.OutOfMemoryException):
            from warehouse.db import memory_sentence

            typer.echo(f"shebao: {memory_sentence()}", err=True)
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
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    main()
