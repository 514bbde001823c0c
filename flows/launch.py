"""The ``shebao`` process: Prefect's temporary server started before the command line loads.

A command that runs flows waits for that server, whose start (Prefect's server imports, its routes) is the
longest thing the command does before its first flow run (docs/small-close.md). The command line itself
(``flows.cli``: typer, duckdb, our settings) takes 0.3–0.6 s to import, so the server starts here, first,
when the words typed name a command that runs flows; the command's own ``server_starting()`` then finds it
started. Anything else (``--help``, ``actions list``, ``policy``) loads the command line as before.
"""

from __future__ import annotations

import sys

# The commands whose bodies open ``flows.runtime.server.server_starting()`` (a test holds the two to each other).
SERVER_COMMANDS = frozenset({"run", "backfill", "ingest", "ledger", "validate", "actions"})
# ``shebao actions`` runs its flow given options alone, or as ``actions run``; its other words run none.
ACTIONS_FLOW_WORDS = frozenset({"run"})
NO_COMMAND = frozenset({"--help", "-h", "--version"})


def runs_flows(args: list[str]) -> bool:
    """Whether ``shebao ARGS`` names a command that runs flows (a global option such as ``-v`` may come first)."""
    words = [arg for arg in args if not arg.startswith("-")]
    if not words or words[0] not in SERVER_COMMANDS or NO_COMMAND & set(args):
        return False
    if words[0] == "actions":
        following = args[args.index("actions") + 1:]
        return bool(following) and (following[0].startswith("-") or following[0] in ACTIONS_FLOW_WORDS)
    return True


def main() -> None:
    """The ``shebao`` console script (and ``python -m flows.launch``): this process's command."""
    from flows.runtime import ending

    ending.ends_with_the_command()  # before the server's exit handler: the last to run
    if runs_flows(sys.argv[1:]):
        from flows.runtime import collector
        from flows.runtime.server import start_server_early

        collector.pause()  # through the command line's imports too; the command resumes it (server_ready)
        start_server_early()
    from flows.cli import main as command_line

    ending.run_command(command_line)


if __name__ == "__main__":
    main()
