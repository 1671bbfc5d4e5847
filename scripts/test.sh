#!/usr/bin/env bash
# Install everything, then run the checks and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p test-artifacts
.venv/bin/ruff check motcua tests bench
.venv/bin/mypy
# Two workers: the suite is dominated by real Tesseract and LibreOffice runs.
.venv/bin/pytest -n 2 --dist loadfile -q -ra "$@"
