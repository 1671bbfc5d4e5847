"""PDF/A-2b checks through pikepdf's validator, immune to other threads' warnings.

pikepdf's content check records *every* Python warning raised while it walks a content
stream (`warnings.catch_warnings` is process-wide) and reports the first as a
`pikepdf:content-parse` violation. In a process that also serves the web page or runs
other work, a warning that has nothing to do with the PDF (a ResourceWarning for a
socket collected at that moment, a DeprecationWarning from another thread) would then
fail a valid file. A real content-stream problem is deterministic, so a report whose
only violations are such warnings is taken again once, after a garbage collection has
flushed pending finalizers; the second report is the answer.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pikepdf.pdfa

log = logging.getLogger(__name__)

_WARNING_RULE = "pikepdf:content-parse"
_WARNING_PREFIX = "content stream: "


def _only_stray_warnings(report: pikepdf.pdfa.Report) -> bool:
    violations = report.violations
    return bool(violations) and all(
        v.rule == _WARNING_RULE and v.message.startswith(_WARNING_PREFIX) for v in violations)


def _taken_again_on_stray_warnings(run: Callable[[], pikepdf.pdfa.Report], what: str
                                   ) -> pikepdf.pdfa.Report:
    report = run()
    if _only_stray_warnings(report):
        log.info("PDF/A check of %s saw a warning (%s); checking again", what,
                 report.violations[0].message)
        gc.collect()
        report = run()
    return report


def check(pdf: pikepdf.Pdf) -> pikepdf.pdfa.Report:
    """PDF/A-2b report of an open PDF."""
    return _taken_again_on_stray_warnings(lambda: pikepdf.pdfa.check(pdf, "2b"),
                                          str(pdf.filename))


def check_file(path: Path) -> pikepdf.pdfa.Report:
    """PDF/A-2b report of a written file (as saved, byte for byte)."""
    return _taken_again_on_stray_warnings(
        lambda: pikepdf.pdfa.validate_written(path, "2b"), path.name)


def passes(path: Path) -> bool:
    return check_file(path).passed
