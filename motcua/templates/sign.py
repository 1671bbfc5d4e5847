"""The empty signature field and the PAdES signature (pyHanko).

Both are incremental updates and the last steps on a file: anything that rewrites
the PDF afterwards breaks the signature. The field is placed from the rendered text
(pdftotext -bbox-layout): between the signer's title and the signer's name. The
signature keeps the field's own (empty) appearance, so no unembedded font such as
pyHanko's default Courier stamp ever enters the PDF/A.
"""

from __future__ import annotations

import html
import re
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from motcua.errors import TransientError, UserError

FIELD_NAME = "ChuKyNguoiKy"


@dataclass(frozen=True)
class Line:
    page: int  # 1-based
    text: str
    x0: float
    y0: float  # top, in points from the top of the page
    x1: float
    y1: float


@dataclass(frozen=True)
class FieldBox:
    page: int  # 1-based
    box: tuple[float, float, float, float]  # PDF user space (origin bottom-left)
    page_height: float


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip().casefold()


_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)
_LINE = re.compile(r"<line[^>]*>(.*?)</line>", re.S)
_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', re.S)


def text_lines(pdf: Path, first: int | None = None,
               last: int | None = None) -> tuple[list[Line], dict[int, tuple[float, float]]]:
    """Every text line of the PDF (or of pages first..last) with its box, from pdftotext."""
    pages = []
    if first is not None:
        pages += ["-f", str(first)]
    if last is not None:
        pages += ["-l", str(last)]
    try:
        proc = subprocess.run(["pdftotext", "-bbox-layout", *pages, str(pdf), "-"],
                              capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TransientError("Không đọc được chữ trong PDF (pdftotext).", str(exc)) from exc
    if proc.returncode != 0:
        raise TransientError("Không đọc được chữ trong PDF (pdftotext).", proc.stderr[-300:])
    lines: list[Line] = []
    sizes: dict[int, tuple[float, float]] = {}
    for pno, m in enumerate(_PAGE.finditer(proc.stdout), start=first or 1):
        sizes[pno] = (float(m[1]), float(m[2]))
        for lm in _LINE.finditer(m[3]):
            words = _WORD.findall(lm[1])
            if not words:
                continue
            text = " ".join(html.unescape(w[4]) for w in words)
            lines.append(Line(pno, text, min(float(w[0]) for w in words),
                              min(float(w[1]) for w in words), max(float(w[2]) for w in words),
                              max(float(w[3]) for w in words)))
    return lines, sizes


def locate_field(pdf: Path, title: str, name: str, *, min_width: float = 150.0) -> FieldBox:
    """The box between the last line of the signer's title and the signer's name.

    Searches from the last page backwards, so an appendix after the signature is fine.
    """
    import pikepdf

    with pikepdf.open(pdf) as doc:
        count = len(doc.pages)
    t_norm, n_norm = _norm(title), _norm(name)
    for page in range(count, 0, -1):
        on_page, sizes = text_lines(pdf, page, page)
        names = [ln for ln in on_page if _norm(ln.text) == n_norm]
        for name_line in reversed(names):
            cx = (name_line.x0 + name_line.x1) / 2
            titles = [ln for ln in on_page if _norm(ln.text) == t_norm
                      and ln.y1 <= name_line.y0 and abs((ln.x0 + ln.x1) / 2 - cx) < 60]
            if not titles:
                continue
            title_line = max(titles, key=lambda ln: ln.y1)
            width = max(min_width, title_line.x1 - title_line.x0, name_line.x1 - name_line.x0)
            page_w, page_h = sizes[page]
            left = max(cx - width / 2, 0.0)
            right = min(cx + width / 2, page_w)
            top = title_line.y1 + 2
            bottom = name_line.y0 - 2
            if bottom - top < 20:
                continue
            return FieldBox(page, (left, page_h - bottom, right, page_h - top), page_h)
    raise UserError(
        f"Không tìm thấy khối chữ ký (“{title}” phía trên “{name}”) trong PDF để đặt ô ký số.",
        f"signature block not found for title={title!r} name={name!r}")


def add_signature_field(pdf: Path, field: FieldBox, name: str = FIELD_NAME) -> None:
    """Append an empty signature field as an incremental update, in place."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.fields import SigFieldSpec, append_signature_field

    with pdf.open("rb+") as fh:
        writer = IncrementalPdfFileWriter(fh)
        box = tuple(round(v, 2) for v in field.box)
        append_signature_field(writer, SigFieldSpec(
            sig_field_name=name, on_page=field.page - 1,
            box=(int(box[0]), int(box[1]), int(box[2]), int(box[3]))))
        writer.write_in_place()


def check_p12(p12: Path, passphrase: bytes | None) -> bytes:
    """Read a PKCS#12 file and make sure the password opens it and it holds a key."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        data = p12.read_bytes()
    except OSError as exc:
        raise UserError(f"Không đọc được tệp chứng thư số {p12}.", str(exc)) from exc
    try:
        key, cert, _ = pkcs12.load_key_and_certificates(data, passphrase)
    except ValueError as exc:
        raise UserError(f"Không mở được chứng thư số {p12}: sai mật khẩu hoặc tệp hỏng.",
                        str(exc)) from exc
    if key is None or cert is None:
        raise UserError(f"Tệp {p12} không chứa khóa riêng và chứng thư để ký.",
                        "pkcs12 without key or certificate")
    return data


def sign_pdf(pdf: Path, out: Path, p12: Path, passphrase: bytes | None,
             field_name: str = FIELD_NAME, reason: str = "", location: str = "") -> None:
    """PAdES signature into the existing field; keeps the field's empty appearance."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata, PdfSigner
    from pyhanko.stamp import NoOpStampStyle

    data = check_p12(p12, passphrase)
    signer = signers.SimpleSigner.load_pkcs12_data(data, other_certs=[], passphrase=passphrase)
    meta = PdfSignatureMetadata(field_name=field_name, md_algorithm="sha256",
                                subfilter=fields.SigSeedSubFilter.PADES,
                                reason=reason or None, location=location or None)
    pdf_signer = PdfSigner(meta, signer=signer, stamp_style=NoOpStampStyle())
    tmp = out.with_name(out.name + ".part")
    with pdf.open("rb") as src, tmp.open("wb") as dst:
        writer = IncrementalPdfFileWriter(src)
        pdf_signer.sign_pdf(writer, output=dst)
    tmp.replace(out)
