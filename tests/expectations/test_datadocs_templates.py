"""GX's Data Docs templates compiled once: shared by every view, kept for the next process, and never a
failure when the cache folder is unusable."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import jinja2
import pytest

from expectations import datadocs_templates
from expectations.datadocs_templates import CachedIndexPageView, CachedPageView, _CompiledOnce

TEMPLATE = "page.j2"  # GX's page template: every page of the site renders through it


@pytest.fixture()
def compiles(monkeypatch) -> list[str]:
    """The names of the templates Jinja compiles from source from now on."""
    compiled: list[str] = []
    real = jinja2.Environment.compile

    def counting(self, source, name=None, filename=None, raw=False, defer_init=False):
        compiled.append(name)
        return real(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return compiled


@pytest.fixture()
def own_temp(monkeypatch, tmp_path) -> Path:
    """Jinja's per-user cache folder under this test's own temporary folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path / f"_jinja2-cache-{os.getuid()}"


def test_every_view_of_a_process_shares_one_compilation(compiles, own_temp, monkeypatch):
    monkeypatch.setattr(datadocs_templates, "COMPILED", _CompiledOnce())
    CachedPageView().env.get_template(TEMPLATE)
    assert compiles.count(TEMPLATE) == 1
    CachedPageView().env.get_template(TEMPLATE)
    CachedIndexPageView().env.get_template(TEMPLATE)
    assert compiles.count(TEMPLATE) == 1, "a second view compiled the template again"


def test_the_next_process_reads_the_compiled_template_from_the_folder(compiles, own_temp, monkeypatch):
    monkeypatch.setattr(datadocs_templates, "COMPILED", _CompiledOnce())
    CachedPageView().env.get_template(TEMPLATE)
    assert any(own_temp.iterdir()), "nothing was kept for the next process"
    monkeypatch.setattr(datadocs_templates, "COMPILED", _CompiledOnce())  # a new process: its memory empty
    compiles.clear()
    CachedPageView().env.get_template(TEMPLATE)
    assert TEMPLATE not in compiles


def test_an_unwritable_or_damaged_folder_only_means_compiling(compiles, own_temp, monkeypatch):
    monkeypatch.setattr(datadocs_templates, "COMPILED", _CompiledOnce())
    CachedPageView().env.get_template(TEMPLATE)
    for entry in own_temp.glob("__jinja2_*"):  # Jinja's header, then damage (Jinja checks only what follows it)
        entry.write_bytes(jinja2.bccache.bc_magic + b"\x80\x05damaged")
    monkeypatch.setattr(datadocs_templates, "COMPILED", _CompiledOnce())
    compiles.clear()
    template = CachedPageView().env.get_template(TEMPLATE)
    assert TEMPLATE in compiles and template.render is not None

    shutil.rmtree(own_temp)
    own_temp.write_text("")  # no folder Jinja deems safe: memory only, and no failure
    monkeypatch.setattr(datadocs_templates, "COMPILED", _CompiledOnce())
    compiles.clear()
    CachedPageView().env.get_template(TEMPLATE)
    CachedPageView().env.get_template(TEMPLATE)
    assert compiles.count(TEMPLATE) == 1
