"""GX Data Docs that render offline: the style sheets and scripts beside the pages.

GX's templates link Bootstrap, jQuery, Font Awesome, bootstrap-table and Vega from six CDNs; offline,
and often inside China, the pages render as bare buttons. After GX builds the site, ``make_offline``
copies the pinned copies shipped in ``datadocs_static/vendor`` (see its LICENSES.md) into
``<site>/static/vendor`` and points every page at them by a relative path. A CDN address that is not
in the table below fails the build loudly: a new GX template needs its asset vendored first.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

STATIC = Path(__file__).with_name("datadocs_static") / "vendor"

# CDN address (as GX 1.24's templates write it) -> the shipped copy under vendor/.
ASSETS = {
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-dark/bootstrap-prefers-dark.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega/vega-embed.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper/popper.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table/bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table/bootstrap-table-filter-control.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table/bootstrap-table-filter-control.min.css",
}
# An asset reference: a src/href attribute of <script> or <link>, or a CSS url()/@import, with an address.
_ASSET_REFERENCE = re.compile(
    r"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["'](?P<tag>(?:https?:)?//[^"']+)["']"""
    r"""|url\(\s*["']?(?P<css>(?:https?:)?//[^"')]+)|@import\s+["'](?P<imp>(?:https?:)?//[^"']+)""",
    re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""\b(src|href)\s*=\s*(["'])((?:https?:)?//[^"']+)\2""", re.IGNORECASE)
_TAG = re.compile(r"<(?:script|link|img)\b[^>]*>", re.IGNORECASE)
# Links out of the site (GX's newsletter and guides): the text stays, the address goes; the pages are
# read offline and by HR, for whom GX's guides are no help.
_LINK_OUT = re.compile(r"""(<a\b[^>]*?)\s+href\s*=\s*(["'])(?:https?:)?//[^"']*\2""", re.IGNORECASE)
# GX's logo comes from its web-assets bucket, with the data context's id appended (a tracking pixel, in effect):
# the vector logo GX ships in the site's own static/images/ stands in for it.
GX_IMAGES = re.compile(r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/[^\"')\s]+")
GX_LOGO = Path("static") / "images" / "logo-long-vector.svg"


class UnvendoredAsset(RuntimeError):
    """A Data Docs page links an asset that is not shipped (GX's templates changed)."""


def external_assets(text: str) -> list[str]:
    """Addresses outside the site that a page or style sheet loads (scripts, style sheets, fonts)."""
    return [next(g for g in match.groups() if g) for match in _ASSET_REFERENCE.finditer(text)]


def make_offline(site: Path) -> list[Path]:
    """Copy the shipped assets into ``site/static/vendor``, point every page of the site at them, and drop
    links out of the site; return the pages rewritten. Raises ``UnvendoredAsset`` for an address it has no copy of."""
    site = Path(site)
    target = site / "static" / "vendor"
    shutil.copytree(STATIC, target, dirs_exist_ok=True)
    rewritten = []
    for page in sorted([*site.rglob("*.html"), *site.rglob("*.css")]):
        text = page.read_text(encoding="utf-8")
        prefix = os.path.relpath(target, page.parent).replace(os.sep, "/")
        logo = os.path.relpath(site / GX_LOGO, page.parent).replace(os.sep, "/")
        text_before = text
        text = GX_IMAGES.sub(logo, text)

        def local(tag: re.Match, prefix=prefix, page=page) -> str:
            def swap(attribute: re.Match) -> str:
                address = attribute.group(3)
                if address not in ASSETS:
                    raise UnvendoredAsset(f"The Data Docs page {page.name} loads {address}, which shebao does "
                                          "not ship; vendor it in expectations/datadocs_static first.")
                return f"{attribute.group(1)}={attribute.group(2)}{prefix}/{ASSETS[address]}{attribute.group(2)}"

            return _ATTRIBUTE.sub(swap, tag.group(0))

        new = _LINK_OUT.sub(r"\1", _TAG.sub(local, text)) if page.suffix == ".html" else text
        if new != text_before:
            page.write_text(new, encoding="utf-8")
            rewritten.append(page)
        left = external_assets(new)
        if left:
            raise UnvendoredAsset(f"The Data Docs page {page.name} still loads {left[0]}; vendor it first.")
    return rewritten
