#!/usr/bin/env bash
# Install everything, make a demo workspace holding a few sample scans, and run the
# watcher on it: it archives the samples and keeps watching demo/inbox (Ctrl+C stops).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
DEMO="${MOTCUA_DEMO:-demo}"
.venv/bin/motcua init "$DEMO"
.venv/bin/python scripts/make_samples.py "$DEMO/inbox"
echo "Thả thêm tệp quét vào $DEMO/inbox; thử: .venv/bin/motcua -w $DEMO search 'ho so'"
exec .venv/bin/motcua -w "$DEMO" watch "$@"
