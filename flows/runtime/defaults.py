"""Process-wide defaults set before Prefect is imported: telemetry off, patient ephemeral server, owner-only
files; the hooks that patch Prefect's server module and flow engine when (only when) each is imported; and
the modules GX imports but never runs for us, loaded only if something uses them (``LAZY_MODULES``)."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys

DEFAULTS = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_LOGGING_LOG_PRINTS": "false",
    # polars' allocator (jemalloc) otherwise keeps freed pages for 10 s: through a large ingest, one file's
    # temporaries (several hundred MB at 200,000 employees) stay resident while the next file's are made.
    # A second, not none: pages handed back at once were faulted in and zeroed again by the kernel for the
    # next chunk (a third of ingest's CPU); 1,000,000-employee ingest alone 360.5 -> 282.0 CPU-s at a peak
    # 7 MB higher, and every step of that close under 2 GB (docs/memory.md, round seven).
    # Read when polars is first imported, which is after this module (flows/__init__ imports flows.runtime first).
    "_RJEM_MALLOC_CONF": "dirty_decay_ms:1000,muzzy_decay_ms:0",
    # Arrow's memory pool (pyarrow: the spools' Parquet, the read copy's tables) on glibc's malloc instead of
    # mimalloc, which kept the pages of every table the export and the per-entity files had written resident
    # for the rest of the process: at 1,000,000 employees the read copy began 600 MB higher than the steps
    # before it and peaked at 1,922 MB, 1,354 MB with glibc's (docs/memory.md, round twenty-two). glibc gives
    # its free pages back between outputs (transforms.common.heap). Read when pyarrow first allocates.
    "ARROW_DEFAULT_MEMORY_POOL": "system",
}


def apply() -> None:
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
    # the warehouse, its read copy and every output hold personal data: files the owner's alone, whether
    # the CLI or a deployment's worker runs the flows (SPEC §8)
    os.umask(0o077)
    _patch_when_imported("prefect.server.api.server", "flows.runtime.server", "patch_prefect")
    _patch_when_imported("prefect.flow_engine", "flows.runtime.runs", "heartbeats_not_waited_for")
    _load_lazily(LAZY_MODULES)


# Imported by Great Expectations when it loads (its KL-divergence expectation and distribution metrics, at
# module level) and used only when such an expectation runs, which ours never do: 1.4 of GX's 4 CPU seconds
# of import, in every close. Loaded lazily, each is a module object at once and is executed on its first
# attribute use, so any code that does use it gets the whole module then.
LAZY_MODULES = frozenset({"scipy.stats", "altair"})


class _Lazily(importlib.abc.MetaPathFinder):
    """Imports ``names`` with ``importlib.util.LazyLoader``: executed on first attribute access."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(self, fullname, path, target=None):
        if fullname not in self.names:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
            if spec is not None:
                return None  # a loader LazyLoader cannot wrap: the ordinary import
        return None


def _load_lazily(names: frozenset[str]) -> None:
    if not any(isinstance(f, _Lazily) for f in sys.meta_path):
        sys.meta_path.insert(0, _Lazily(names))


class _ThenCall(importlib.abc.Loader):
    def __init__(self, loader, then) -> None:
        self.loader, self.then = loader, then

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.loader.exec_module(module)
        self.then()


class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls ``module:function`` right after ``target`` is imported (the temporary server's watchdog is
    patched in only when Prefect's server module is loaded, which a plain ``shebao --help`` never does)."""

    def __init__(self, target: str, module: str, function: str) -> None:
        self.target, self.module, self.function = target, module, function

    def call(self) -> None:
        getattr(importlib.import_module(self.module), self.function)()

    def find_spec(self, fullname, path, target=None):
        if fullname != self.target:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _ThenCall(spec.loader, self.call)
                return spec
        return None


def _patch_when_imported(target: str, module: str, function: str) -> None:
    if target in sys.modules:
        getattr(importlib.import_module(module), function)()
    elif not any(isinstance(f, _AfterImport) and f.target == target for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(target, module, function))

