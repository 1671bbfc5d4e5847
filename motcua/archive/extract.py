"""Candidate identifiers in a document's text: dossier codes, citizen IDs, tax codes.

They are candidates: a human confirms an owner (`motcua doc meta`), but a dossier code
found in the text is enough to file an unassigned scan under its dossier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# <agency code>-YYMMDD-XXXX, agency code V1V2V3.Z1Z2.Y1Y2.MX1X2 (Thông tư 01/2018 Điều 19).
AGENCY_CODE = r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}"
DOSSIER_CODE_RE = re.compile(rf"(?<![\w.])({AGENCY_CODE}-\d{{6}}-\d{{4}})(?![\w])")
_DOSSIER_CODE_FULL = re.compile(rf"{AGENCY_CODE}-(\d{{2}})(\d{{2}})(\d{{2}})-\d{{4}}")
CITIZEN_ID_RE = re.compile(r"(?<![\d.-])(\d{12})(?![\d-])")
TAX_CODE_RE = re.compile(r"(?<![\d.-])(\d{10}(?:-\d{3})?)(?![\d])")

# Weights of the tax-code check digit (secondary: the rule as other software implements
# it; checked on the published example 0314409058).
_MST_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


@dataclass(frozen=True)
class Identifier:
    kind: str  # "dossier_code" | "citizen_id" | "tax_code"
    value: str
    page_no: int


def is_dossier_code(value: str) -> bool:
    match = _DOSSIER_CODE_FULL.fullmatch(value)
    if not match:
        return False
    month, day = int(match.group(2)), int(match.group(3))
    return 1 <= month <= 12 and 1 <= day <= 31


def is_citizen_id(value: str) -> bool:
    # 3-digit province code of birth registration (001-096), then century/sex digit.
    return len(value) == 12 and value.isdigit() and 1 <= int(value[:3]) <= 96


def tax_code_check_ok(value: str) -> bool:
    base = value.split("-", 1)[0]
    if len(base) != 10 or not base.isdigit():
        return False
    total = sum(w * int(d) for w, d in zip(_MST_WEIGHTS, base[:9], strict=True))
    check = 10 - total % 11  # 10 means no valid code has these nine digits
    return check < 10 and check == int(base[9])


def find_identifiers(pages: list[str]) -> list[Identifier]:
    """All candidate identifiers, first occurrence of each (kind, value) kept, in page order."""
    found: dict[tuple[str, str], Identifier] = {}

    def add(kind: str, value: str, page_no: int) -> None:
        found.setdefault((kind, value), Identifier(kind, value, page_no))

    for page_no, text in enumerate(pages, start=1):
        for m in DOSSIER_CODE_RE.finditer(text):
            if is_dossier_code(m.group(1)):
                add("dossier_code", m.group(1), page_no)
        for m in CITIZEN_ID_RE.finditer(text):
            if is_citizen_id(m.group(1)):
                add("citizen_id", m.group(1), page_no)
        for m in TAX_CODE_RE.finditer(text):
            if tax_code_check_ok(m.group(1)):
                add("tax_code", m.group(1), page_no)
    return list(found.values())
