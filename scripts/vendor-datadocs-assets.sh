#!/usr/bin/env bash
# Fetch again the Data Docs assets shipped in expectations/datadocs_static/vendor (see its LICENSES.md):
# the npm registry's packages, unpacked, the distribution files copied. Run from the repository root.
set -euo pipefail
V=expectations/datadocs_static/vendor
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
(cd "$T" && npm pack --silent @forevolve/bootstrap-dark@1.1.0 vega@5.33.1 vega-lite@5.23.0 vega-embed@6.29.0 \
  bootstrap-datepicker@1.9.0 @fortawesome/fontawesome-free@6.6.0 popper.js@1.12.9 jquery@3.7.1 bootstrap@4.3.1 \
  bootstrap-table@1.19.1 >/dev/null && for f in *.tgz; do mkdir -p "x/${f%.tgz}" && tar xzf "$f" -C "x/${f%.tgz}"; done)
X="$T/x"
cp "$X"/forevolve-bootstrap-dark-1.1.0/package/dist/css/bootstrap-prefers-dark.css "$X"/forevolve-bootstrap-dark-1.1.0/package/LICENSE "$V/bootstrap-dark/"
cp "$X"/vega-5.33.1/package/build/vega.min.js "$X"/vega-lite-5.23.0/package/build/vega-lite.min.js \
   "$X"/vega-embed-6.29.0/package/build/vega-embed.min.js "$V/vega/"
cp "$X"/vega-lite-5.23.0/package/LICENSE "$V/vega/LICENSE-vega-lite"
cp "$X"/vega-embed-6.29.0/package/LICENSE "$V/vega/LICENSE-vega-embed"
P="$X"/bootstrap-datepicker-1.9.0/package
cp "$P"/dist/css/bootstrap-datepicker.min.css "$P"/dist/js/bootstrap-datepicker.min.js "$P"/LICENSE "$V/bootstrap-datepicker/"
P="$X"/fortawesome-fontawesome-free-6.6.0/package
cp "$P"/css/all.min.css "$V/fontawesome/css/"; cp "$P"/webfonts/*.woff2 "$P"/webfonts/*.ttf "$V/fontawesome/webfonts/"
cp "$P"/LICENSE.txt "$V/fontawesome/"
cp "$X"/popper.js-1.12.9/package/dist/umd/popper.min.js "$V/popper/"
cp "$X"/jquery-3.7.1/package/dist/jquery.min.js "$X"/jquery-3.7.1/package/LICENSE.txt "$V/jquery/"
P="$X"/bootstrap-4.3.1/package
cp "$P"/dist/css/bootstrap.min.css "$P"/dist/js/bootstrap.min.js "$P"/LICENSE "$V/bootstrap/"
P="$X"/bootstrap-table-1.19.1/package/dist
cp "$P"/bootstrap-table.min.css "$P"/bootstrap-table.min.js "$P"/extensions/filter-control/bootstrap-table-filter-control.min.css \
   "$P"/extensions/filter-control/bootstrap-table-filter-control.css \
   "$P"/extensions/filter-control/bootstrap-table-filter-control.min.js "$P"/../LICENSE "$V/bootstrap-table/"
