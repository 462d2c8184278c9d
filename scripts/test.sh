#!/usr/bin/env bash
# Install everything the tests need, then run the tests (the README's test commands), spread over the CPU cores
# with pytest-xdist (one worker per core; CHAMPY_TEST_WORKERS=0 runs them in this process).
#   bash scripts/test.sh                  every test, as CI runs it
#   bash scripts/test.sh -m "not slow"    the fast loop (no training, browser or notebook runs)
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
# Lint, format and layers (settings in pyproject.toml): a failure stops the run before the tests.
python3 -m ruff check .
python3 -m ruff format --check .
# The layers of champy/ (contracts in pyproject.toml; README, "How the code is laid out").
lint-imports --no-cache
# loadfile keeps each test file on one worker, so its module fixtures (loaded models, servers) are built once.
python3 -m pytest -q -n "${CHAMPY_TEST_WORKERS:-auto}" --dist loadfile "$@"
