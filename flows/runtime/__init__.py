"""Everything that adapts Prefect to shebao, in one place, so that the flows read as the steps they run.

- ``flows.runtime.defaults``: the process defaults set before Prefect is imported (telemetry off, a patient
  temporary server, polars' allocator, owner-only files) and the hooks that patch Prefect's server module
  and flow engine when each loads. Importing this package applies them; ``flows/__init__`` imports it first.
- ``flows.runtime.server``: Prefect's temporary (ephemeral) server under a watchdog, so that it dies with
  the process that started it, and started early on a background thread.
- ``flows.runtime.collector``: Python's cyclic garbage collector paused while the CLI and the temporary server
  import their libraries, then resumed past what they hold.
- ``flows.runtime.ending``: how a ``shebao`` process ends, after Prefect's and the temporary server's exit work,
  without the interpreter's teardown.
- ``flows.runtime.runs``: what a flow run needs around its steps: ``Handoff`` (large values let go once
  used), run names and the month a scheduled run closes, the warehouse key from a Secret block, the retry
  policy (input errors are never retried), subflows without heartbeats and flow runs that do not wait for
  theirs, the task runner for per-entity work, and the flow run's id on the warehouse's run tables.

Settings of our own (``SHEBAO_*``) are read by ``warehouse.settings``; this package only sets Prefect's.
"""

from flows.runtime.defaults import apply

apply()
