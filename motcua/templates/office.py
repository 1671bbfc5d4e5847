"""LibreOffice behind a thin wrapper: DOCX -> PDF/A-2b.

`WarmOffice` keeps one headless soffice running (its own profile under /tmp) and
drives it through a small UNO bridge process (`_uno_bridge.py`). Debian's `uno`
module (package python3-uno) is built for the system interpreter /usr/bin/python3
and cannot be imported by the .venv's own (pyenv) Python, so the bridge runs under
/usr/bin/python3 (or $MOTCUA_UNO_PYTHON) with the venv's Python variables removed
from its environment. A cold start costs seconds; a warm conversion a fraction of
that. `cold_convert` is the plain `soffice --convert-to` path: the fallback when no
`uno` is available, and the baseline of bench/render.py. Both run as root without
a display.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import IO, Any

from motcua.errors import TransientError

log = logging.getLogger(__name__)

BRIDGE = Path(__file__).with_name("_uno_bridge.py")
PDFA_FILTER = 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'
UNO_PYTHON_ENV = "MOTCUA_UNO_PYTHON"


def soffice_binary() -> str:
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    raise TransientError(
        "Không tìm thấy LibreOffice (soffice) để xuất PDF. Hãy cài gói libreoffice-writer.",
        "soffice not found on PATH")


def uno_python() -> str | None:
    """An interpreter that can `import uno` (run as the bridge will be), or None."""
    candidates = [os.environ.get(UNO_PYTHON_ENV, ""), "/usr/bin/python3",
                  "/usr/lib/libreoffice/program/python"]
    for cand in candidates:
        if not cand or not Path(cand).exists():
            continue
        try:
            ok = subprocess.run([cand, "-c", "import uno"], capture_output=True,
                                timeout=30, env=_bridge_env()).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return cand
    return None


SYSTEM_FONTCONFIG = Path("/etc/fonts/fonts.conf")
# The documents name Times New Roman; where it is not installed, Liberation Serif (same
# advance widths, full Vietnamese coverage) stands in. Most distributions alias the two
# already; this makes it explicit for LibreOffice whatever the machine's own settings.
FONT_ALIAS_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">{system}</include>
  <alias binding="same">
    <family>Times New Roman</family>
    <accept><family>Liberation Serif</family></accept>
  </alias>
</fontconfig>
"""


def fontconfig_file() -> Path | None:
    """A fontconfig file = the system's + the Times New Roman alias (written once per
    user under the temp directory); None when the system has no fontconfig."""
    if not SYSTEM_FONTCONFIG.is_file():
        return None
    path = Path(tempfile.gettempdir()) / f"motcua-fonts-{os.getuid()}.conf"
    text = FONT_ALIAS_CONF.format(system=SYSTEM_FONTCONFIG)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.part")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return path


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    env.setdefault("HOME", tempfile.gettempdir())
    env["SAL_USE_VCLPLUGIN"] = "svp"
    conf = fontconfig_file()
    if conf is not None and "FONTCONFIG_FILE" not in os.environ:
        env["FONTCONFIG_FILE"] = str(conf)
    return env


# Variables of the calling (venv / pyenv) Python that would point the system Python at
# the wrong standard library or site-packages.
_FOREIGN_PYTHON_VARS = ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONUSERBASE",
                        "VIRTUAL_ENV", "PYENV_VERSION", "__PYVENV_LAUNCHER__")


def _bridge_env() -> dict[str, str]:
    env = _env()
    for name in _FOREIGN_PYTHON_VARS:
        env.pop(name, None)
    return env


def cold_convert(docx: Path, pdf: Path, *, timeout: float = 180.0,
                 profile: Path | None = None) -> None:
    """One `soffice --convert-to` run (a fresh process) with its own profile."""
    own = profile is None
    prof = profile or Path(tempfile.mkdtemp(prefix="motcua-lo-cold-"))
    outdir = Path(tempfile.mkdtemp(prefix="motcua-lo-out-", dir=pdf.parent))
    try:
        cmd = [soffice_binary(), f"-env:UserInstallation={prof.resolve().as_uri()}",
               "--headless", "--norestore", "--nologo", "--nolockcheck",
               "--convert-to", PDFA_FILTER, "--outdir", str(outdir), str(docx)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  env=_env())
        except subprocess.TimeoutExpired as exc:
            raise TransientError("LibreOffice không xuất được PDF trong thời gian cho phép.",
                                 f"soffice --convert-to timed out after {timeout}s") from exc
        produced = outdir / (docx.stem + ".pdf")
        if proc.returncode != 0 or not produced.exists():
            raise TransientError("LibreOffice không xuất được PDF từ tệp DOCX.",
                                 f"soffice rc={proc.returncode}: {proc.stderr.strip()[-500:]}")
        os.replace(produced, pdf)
    finally:
        shutil.rmtree(outdir, ignore_errors=True)
        if own:
            shutil.rmtree(prof, ignore_errors=True)


def _end_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL, the process group `proc` leads (start_new_session=True)."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


class WarmOffice:
    """One long-lived soffice + UNO bridge; `convert` is thread-safe (serialised)."""

    def __init__(self, *, python: str | None = None, start_timeout: float = 90.0,
                 convert_timeout: float = 180.0) -> None:
        self.python = python or uno_python()
        self.start_timeout = start_timeout
        self.convert_timeout = convert_timeout
        self._lock = threading.Lock()
        self._soffice: subprocess.Popen[bytes] | None = None
        self._bridge: subprocess.Popen[str] | None = None
        self._profile: Path | None = None
        self._bridge_log: IO[bytes] | None = None
        self.conversions = 0
        self.starts = 0

    @property
    def available(self) -> bool:
        return self.python is not None

    def start(self) -> None:
        if self.python is None:
            raise TransientError(
                "Không có mô-đun UNO của LibreOffice (gói python3-uno) để giữ LibreOffice "
                "chạy sẵn.",
                "no python with `import uno`")
        self._profile = Path(tempfile.mkdtemp(prefix="motcua-lo-warm-"))
        pipe = f"motcua_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self._soffice = subprocess.Popen(
            [soffice_binary(), f"-env:UserInstallation={self._profile.as_uri()}",
             "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
             "--nolockcheck", f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=_env(), start_new_session=True)
        self._bridge_log = tempfile.TemporaryFile(prefix="motcua-uno-bridge-")  # noqa: SIM115
        self._bridge = subprocess.Popen(
            [self.python, str(BRIDGE), pipe, str(self.start_timeout)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._bridge_log,
            text=True, env=_bridge_env(), start_new_session=True)
        try:
            answer = self._read(self.start_timeout)
        except (TimeoutError, EOFError, OSError) as exc:
            detail = f"bridge ({self.python}) did not start: {exc}; {self._bridge_stderr()}"
            self.close()
            raise TransientError("Không khởi động được LibreOffice chạy sẵn.", detail) from exc
        if not answer.get("ready"):
            self.close()
            raise TransientError("Không khởi động được LibreOffice.",
                                 f"bridge: {answer.get('error')}")
        self.starts += 1
        log.debug("warm LibreOffice ready (pid %s, bridge %s)", self._soffice.pid, self.python)

    def _bridge_stderr(self) -> str:
        if self._bridge_log is None:
            return ""
        try:
            self._bridge_log.seek(0)
            return self._bridge_log.read()[-2000:].decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self._bridge is not None and self._bridge.stdout is not None
        out: IO[str] = self._bridge.stdout
        sel = selectors.DefaultSelector()
        sel.register(out, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise TimeoutError("bridge did not answer")
                line = out.readline()
                if not line:
                    raise EOFError("bridge exited")
                if line.startswith("@@ "):
                    result: dict[str, Any] = json.loads(line[3:])
                    return result
        finally:
            sel.close()

    def _alive(self) -> bool:
        return (self._soffice is not None and self._soffice.poll() is None
                and self._bridge is not None and self._bridge.poll() is None)

    def convert(self, docx: Path, pdf: Path) -> None:
        """DOCX -> PDF/A-2b; restarts LibreOffice once if it died or hung."""
        with self._lock:
            for attempt in (1, 2):
                if not self._alive():
                    self.close()
                    self.start()
                assert self._bridge is not None and self._bridge.stdin is not None
                tmp = pdf.with_name(pdf.name + ".part")
                try:
                    self._bridge.stdin.write(json.dumps(
                        {"in": str(docx.resolve()), "out": str(tmp.resolve())}) + "\n")
                    self._bridge.stdin.flush()
                    answer = self._read(self.convert_timeout)
                except (TimeoutError, EOFError, BrokenPipeError, OSError) as exc:
                    log.warning("LibreOffice conversion failed (attempt %d): %s", attempt, exc)
                    self.close()
                    if attempt == 2:
                        raise TransientError("LibreOffice không xuất được PDF.",
                                             f"warm office: {exc}") from exc
                    continue
                if not answer.get("ok") or not tmp.exists():
                    tmp.unlink(missing_ok=True)
                    raise TransientError("LibreOffice không xuất được PDF từ tệp DOCX.",
                                         f"warm office: {answer.get('error')}")
                os.replace(tmp, pdf)
                self.conversions += 1
                return

    def close(self) -> None:
        bridge, soffice = self._bridge, self._soffice
        self._bridge = self._soffice = None
        asked = False  # the bridge told soffice to terminate
        if bridge is not None:
            try:
                if bridge.poll() is None and bridge.stdin is not None:
                    bridge.stdin.write(json.dumps({"quit": True}) + "\n")
                    bridge.stdin.flush()
                    bridge.wait(timeout=10)
                    asked = bridge.returncode == 0
            except (OSError, subprocess.TimeoutExpired, ValueError):
                pass
            if bridge.poll() is None:
                bridge.kill()
                bridge.wait()
        if soffice is not None:
            try:
                soffice.wait(timeout=10 if asked else 1)
            except subprocess.TimeoutExpired:
                # the launcher (a shell script, then oosplash) and soffice.bin share the
                # session started for them: end that group, not just the launcher
                _end_group(soffice)
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None
        if self._bridge_log is not None:
            self._bridge_log.close()
            self._bridge_log = None

    def __enter__(self) -> WarmOffice:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Converter:
    """What `render` uses: the warm office when `uno` is there, else cold runs."""

    def __init__(self, warm: WarmOffice | None = None) -> None:
        self.warm = warm

    def convert(self, docx: Path, pdf: Path) -> None:
        if self.warm is not None:
            self.warm.convert(docx, pdf)
        else:
            cold_convert(docx, pdf)


_shared: WarmOffice | None = None
_shared_lock = threading.Lock()


def shared_converter() -> Converter:
    """A process-wide warm LibreOffice started on first use, closed at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            office = WarmOffice()
            if not office.available:
                log.warning("python3-uno not found: each PDF starts a cold LibreOffice")
                return Converter(None)
            office.start()
            atexit.register(office.close)
            _shared = office
        return Converter(_shared)
