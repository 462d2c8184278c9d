#!/usr/bin/env bash
# Install everything the tests need, then run every test (the README's test command).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install Debian's chromium; browser tests will be skipped" >&2
  fi
fi
python3 -m pip install -q -r requirements-test.txt
python3 -m pip install -q --no-deps -e .
python3 -m pytest -q "$@"
