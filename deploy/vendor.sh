#!/usr/bin/env bash
# Fetch the intranet's vendored front-end files from the npm registry into shared/static/vendor/.
#
# They are committed: pages never load anything from a CDN, and the app needs no Node at run time.
# This script only says (and reproduces) where each committed file came from: run it after changing
# a version below, check the pages, and commit the result with shared/static/vendor/README.md.
#
#   @picocss/pico  2.1.1   css/pico.min.css, LICENSE.md (MIT)       the base styles of every page
#   htmx.org       2.0.11  dist/htmx.min.js, LICENSE (0BSD)         fragments, in-place forms, polling
#
# htmx stays on the maintained 2.x line: 4.x is a new major (fetch-based, different attribute
# inheritance and configuration), and shared/templates/shared/layout.html configures 2.x
# (`htmx-config`: no eval, no script tags from responses, no inline indicator styles), as the
# Content-Security-Policy (script-src 'self') needs.
#
# Needs npm. Each tarball is checked against the registry's sha512 integrity pinned here, so a
# re-run either reproduces the committed bytes or fails.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vendor="$root/shared/static/vendor"

# name  version  integrity  destination  files (path in the package -> file name)
PACKAGES=(
  "@picocss/pico|2.1.1|sha512-kIDugA7Ps4U+2BHxiNHmvgPIQDWPDU4IeU6TNRdvXQM1uZX+FibqDQT2xUOnnO2yq/LUHcwnGlu1hvf4KfXnMg==|pico|css/pico.min.css LICENSE.md"
  "htmx.org|2.0.11|sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA==|htmx|dist/htmx.min.js LICENSE"
)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for entry in "${PACKAGES[@]}"; do
  IFS="|" read -r name version integrity destination files <<<"$entry"
  (cd "$work" && npm pack --silent "$name@$version" >/dev/null)
  tarball="$work/$(echo "${name#@}" | tr / -)-$version.tgz"
  actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  if [ "$actual" != "$integrity" ]; then
    echo "vendor.sh: $name@$version does not match its pinned integrity ($actual)" >&2
    exit 1
  fi
  mkdir -p "$work/$destination" "$vendor/$destination"
  tar -xzf "$tarball" -C "$work/$destination"
  for file in $files; do
    cp "$work/$destination/package/$file" "$vendor/$destination/$(basename "$file")"
  done
  echo "vendor.sh: $name@$version -> shared/static/vendor/$destination/"
done
ls -l "$vendor"/*/
