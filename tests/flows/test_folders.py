"""The one out-folder rule: --out as given, else $SHEBAO_OUT, else ./out; always absolute."""

from __future__ import annotations

from flows.folders import out_folder


def test_given_then_setting_then_out_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHEBAO_OUT", raising=False)
    assert out_folder() == tmp_path.resolve() / "out"
    assert out_folder("reports") == tmp_path.resolve() / "reports"
    monkeypatch.setenv("SHEBAO_OUT", str(tmp_path / "deployed"))
    assert out_folder() == tmp_path.resolve() / "deployed"
    assert out_folder(tmp_path / "given") == tmp_path.resolve() / "given"
