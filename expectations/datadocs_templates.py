"""GX's Data Docs templates compiled once, not once per page section of every close (issue 28).

Each section of the site (expectation suites, validation results, profiling) and its index render through a
view of their own, and each view builds a Jinja environment of its own that compiles GX's templates again:
half the CPU of a small close's Data Docs. The views below are GX's own with one shared bytecode cache: a
template's compiled code is kept in this process and in Jinja's per-user cache folder (created 0700 and
checked by Jinja), keyed by the template's name and checked against its source, so an upgraded GX compiles
afresh. The cache is only a saving: a folder that cannot be read or written (a full or read-only disk) or a
damaged entry means the template is compiled as before, never a failed close.

``expectations.suites.build_data_docs`` names these views in the site's configuration (``MODULE`` and the class).
"""

from __future__ import annotations

import contextlib
from functools import cached_property

import jinja2
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView

MODULE = __name__


class _CompiledOnce(jinja2.BytecodeCache):
    """Compiled templates in memory, then in Jinja's per-user folder; any failure of the folder is a miss."""

    def __init__(self) -> None:
        self._memory: dict[str, bytes] = {}

    @cached_property
    def _files(self) -> jinja2.FileSystemBytecodeCache | None:
        try:
            return jinja2.FileSystemBytecodeCache()
        except Exception:  # no safe folder (read-only /tmp, another owner's): memory only
            return None

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._memory.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)
        elif self._files is not None:
            try:
                self._files.load_bytecode(bucket)
            except Exception:  # a damaged entry: compile
                bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._memory[bucket.key] = bucket.bytecode_to_string()
        if self._files is not None:
            with contextlib.suppress(Exception):  # a full disk: the next process compiles again
                self._files.dump_bytecode(bucket)


COMPILED = _CompiledOnce()


class _SharedCache:
    """A GX view whose Jinja environment uses the shared bytecode cache (first in the view's bases)."""

    env: jinja2.Environment

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = COMPILED


class CachedPageView(_SharedCache, DefaultJinjaPageView):
    """GX's page view (suites, validation results)."""


class CachedIndexPageView(_SharedCache, DefaultJinjaIndexPageView):
    """GX's index page view."""
