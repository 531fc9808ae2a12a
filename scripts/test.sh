#!/usr/bin/env bash
# Installs what the tests need, then runs lint, type checks and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
.venv/bin/ruff check assistant tests bench scripts
.venv/bin/mypy assistant
.venv/bin/python -m pytest -q "$@"
