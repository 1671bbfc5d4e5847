"""Runs under the system Python that has LibreOffice's `uno` module (Debian: python3-uno,
importable by /usr/bin/python3 only, not by the .venv's pyenv interpreter).

It connects to one warm `soffice --headless --accept=pipe,...` and converts DOCX files
to PDF/A-2b on request. Protocol: one JSON object per line on stdin
({"in": path, "out": path}), one JSON answer per line on stdout prefixed with "@@ ".
This file is not imported by motcua; office.py starts it as a separate process.
"""

import contextlib
import json
import sys
import time
from typing import Any

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException


def prop(name: str, value: Any) -> Any:
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def answer(obj: dict[str, Any]) -> None:
    sys.stdout.write("@@ " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> int:
    pipe = sys.argv[1]
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + timeout
    ctx = None
    while ctx is None:
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except NoConnectException:
            if time.monotonic() > deadline:
                answer({"ok": False, "error": "could not connect to soffice"})
                return 1
            time.sleep(0.05)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    answer({"ok": True, "ready": True})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        if req.get("quit"):
            with contextlib.suppress(Exception):  # soffice goes away while answering
                desktop.terminate()
            answer({"ok": True, "bye": True})
            return 0
        started = time.monotonic()
        doc = None
        try:
            doc = desktop.loadComponentFromURL(
                uno.systemPathToFileUrl(req["in"]), "_blank", 0,
                (prop("Hidden", True), prop("ReadOnly", True)))
            if doc is None:
                raise RuntimeError("LibreOffice could not load the document")
            fields = doc.getTextFields()
            fields.refresh()
            filter_data = uno.Any("[]com.sun.star.beans.PropertyValue", (
                prop("SelectPdfVersion", 2),  # PDF/A-2b
                prop("UseTaggedPDF", True),
                prop("ExportFormFields", False),
                prop("EmbedStandardFonts", True),
            ))
            args = (prop("FilterName", "writer_pdf_Export"), prop("FilterData", filter_data))
            uno.invoke(doc, "storeToURL", (uno.systemPathToFileUrl(req["out"]), args))
            answer({"ok": True, "seconds": time.monotonic() - started})
        except Exception as exc:  # reported to the caller
            answer({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        finally:
            if doc is not None:
                with contextlib.suppress(Exception):
                    doc.close(True)
    # stdin closed without "quit": the caller exited or died; do not leave soffice behind
    with contextlib.suppress(Exception):
        desktop.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
