#!/usr/bin/env bash
# Install everything motcua needs on Debian 12: system packages, then the Python
# package with its test tools into .venv. Idempotent; works as root or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
    tesseract-ocr tesseract-ocr-vie tesseract-ocr-script-viet   # OCR engine + Vietnamese models
    ghostscript qpdf unpaper pngquant                           # OCRmyPDF's helpers
    poppler-utils                                               # pdftotext, pdftoppm (tests, bench)
    fonts-liberation2 fonts-noto-core                           # Times-metric serif with every Vietnamese glyph
    libreoffice-writer-nogui                                    # DOCX -> PDF/A for issued documents
    python3-uno                                                 # keeps one LibreOffice warm (UNO bridge)
    chromium chromium-driver                                    # the web page's browser tests
    redis-server                                                # Celery's broker ([workers] backend = "celery"; tests start their own)
    python3-venv python3-dev
)

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "motcua setup: installing system packages: ${missing[*]}"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Debian's uno module is built for the system interpreter: the warm LibreOffice's bridge
# (motcua/templates/_uno_bridge.py) runs under /usr/bin/python3, not under .venv's Python.
if ! /usr/bin/python3 -c "import uno" 2>/dev/null; then
    echo "motcua setup: /usr/bin/python3 cannot import uno (python3-uno); without it every" \
         "PDF starts a cold LibreOffice and the template tests fail" >&2
    exit 1
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "motcua setup: creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
# pip's build chatter goes to a log, shown only if the install fails.
pip_log=.venv/pip-install.log
if ! { .venv/bin/python -m pip install -q --upgrade pip &&
       .venv/bin/python -m pip install -q -e '.[dev]'; } >"$pip_log" 2>&1; then
    cat "$pip_log" >&2
    echo "motcua setup: installing the Python package failed (log: $pip_log)" >&2
    exit 1
fi
echo "motcua setup: done ($(.venv/bin/motcua --version))"
