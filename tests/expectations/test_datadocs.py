"""Data Docs offline: every style sheet and script beside the pages, nothing loaded from outside, and the
index renders styled in headless Chromium with the network disabled."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from expectations.datadocs import external_assets
from expectations.registry import SUITES
from expectations.suites import run_suites
from tests.expectations.test_gx_adapter import _seed

# Chromium with no way out: every host resolves to nothing and every request goes to a closed proxy.
OFFLINE = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--proxy-server=socks5://127.0.0.1:9",
           "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=8000"]
VALIDATIONS = "#section-1-content-block-2-1-body-table"  # the index's list of validation results
PROBE = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  var table = document.querySelector('VALIDATIONS');
  var icon = table && table.querySelector('i');
  var out = {
    rows: table ? table.querySelectorAll('tbody tr').length : 0,
    wrapped: !!(table && table.closest('.bootstrap-table')),
    borderCollapse: table ? getComputedStyle(table).borderCollapse : null,
    width: table ? table.getBoundingClientRect().width : 0,
    navbar: getComputedStyle(document.querySelector('nav.navbar')).position,
    iconFont: icon ? getComputedStyle(icon).fontFamily : '',
    suites: table ? table.innerText : ''
  };
  var pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 500); });
</script>""".replace("VALIDATIONS", VALIDATIONS)


@pytest.fixture()
def site(wh, tmp_path) -> Path:
    _seed(wh)
    outcome = run_suites(wh.con, "2024-03", data_docs_dir=tmp_path / "docs")
    return Path(outcome.data_docs).parent


def test_data_docs_load_nothing_from_outside(site):
    pages = [*site.rglob("*.html"), *site.rglob("*.css")]
    assert len(pages) > 5
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert external_assets(text) == [], page
    for page in site.rglob("*.html"):  # the pages carry no address at all, links out included
        assert not re.search(r"https?://", page.read_text(encoding="utf-8")), page
        for reference in re.findall(r"""(?:src|href)=["']([^"'#]+)["']""", page.read_text(encoding="utf-8")):
            if "static/vendor/" in reference or "logo-long-vector" in reference:  # the copies we point at
                assert (page.parent / reference).is_file(), (page, reference)
    assert (site / "static" / "vendor" / "fontawesome" / "webfonts" / "fa-solid-900.woff2").is_file()


@pytest.mark.browser
def test_the_index_renders_styled_in_chromium_without_network(site, tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian chromium is not installed; run scripts/system-deps.sh (CI does) to install it.")
    index = site / "index.html"
    probe = site / "probe.html"
    probe.write_text(index.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    common = [chromium, *OFFLINE, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*common, "--window-size=1280,900", "--dump-dom", probe.as_uri()], check=True,
                         capture_output=True, text=True, timeout=180).stdout
    found = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', dom).group(1).replace("&quot;", '"'))
    assert found["rows"] == len(SUITES) and found["wrapped"]  # jQuery and bootstrap-table ran: the list is built
    assert found["borderCollapse"] == "collapse" and found["width"] > 800  # Bootstrap's .table applies
    assert found["navbar"] == "sticky"  # Bootstrap's sticky-top
    assert "Font Awesome" in found["iconFont"]  # the status icons' font
    for suite in ("bases", "completeness", "enrolment", "identity", "transfers"):
        assert suite in found["suites"]
    shot = tmp_path / "index.png"
    subprocess.run([*common, "--window-size=1280,900", f"--screenshot={shot}", index.as_uri()], check=True,
                   capture_output=True, timeout=180)
    assert shot.stat().st_size > 20_000
