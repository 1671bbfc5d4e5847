"""Identifiers of the warehouse: citizen IDs (CCCD), tax codes (MST), dossier codes.

Validation says in Vietnamese exactly what is wrong. Dossier codes are generated in the
`<agency code>-YYMMDD-XXXX` format (Thông tư 01/2018/TT-VPCP Điều 19) with a per-day
sequence taken under the database write lock, so two processes never get the same code.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import date

from motcua.archive.extract import AGENCY_CODE, is_dossier_code
from motcua.errors import UserError

# Tax-code check digit weights (secondary: the rule as several independent
# implementations state it; checked on 0314409058 and 0100109106). Configurable through
# `[warehouse] mst_check_digit = false` when a real code is refused.
MST_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)

_AGENCY_RE = re.compile(AGENCY_CODE)


@dataclass(frozen=True)
class OwnerId:
    value: str  # normalised: 12 digits, or 10 digits, or NNNNNNNNNN-NNN
    kind: str  # "citizen" | "organisation"


def _bad(message: str, detail: str) -> UserError:
    return UserError(message, detail)


def validate_citizen_id(raw: str) -> str:
    """Return the normalised 12-digit personal identifier or raise UserError."""
    value = raw.strip().replace(" ", "")
    if not value:
        raise _bad("Số định danh cá nhân (CCCD) đang để trống.", "empty citizen id")
    if not value.isdigit():
        bad = sorted({c for c in value if not c.isdigit()})
        raise _bad(
            f"Số định danh cá nhân “{raw}” chỉ được gồm chữ số; có ký tự không phải số: "
            f"{' '.join(repr(c) for c in bad)}.",
            f"non-digit characters in citizen id {raw!r}",
        )
    if len(value) != 12:
        raise _bad(
            f"Số định danh cá nhân “{value}” phải có đúng 12 chữ số (đang có {len(value)}).",
            f"citizen id length {len(value)} != 12",
        )
    province = int(value[:3])
    if not 1 <= province <= 96:
        raise _bad(
            f"Số định danh cá nhân “{value}”: 3 chữ số đầu (mã tỉnh nơi đăng ký khai sinh) "
            f"“{value[:3]}” không hợp lệ; mã tỉnh phải từ 001 đến 096.",
            f"province code {value[:3]} out of range",
        )
    # 0/1: born 1900-1999 (male/female), 2/3: 2000s, 4/5: 2100s, 6/7: 2200s, 8/9: 1800s.
    century = {0: 1900, 1: 2000, 2: 2100, 3: 2200, 4: 1800}[int(value[3]) // 2]
    birth_year = century + int(value[4:6])
    if century == 1800:
        raise _bad(
            f"Số định danh cá nhân “{value}”: chữ số thứ 4 (thế kỷ và giới tính) là "
            f"“{value[3]}”, nghĩa là sinh vào thế kỷ 19 ({birth_year}), không thể có với "
            "công dân đang làm thủ tục. Chữ số này phải là 0/1 (sinh 1900–1999) hoặc "
            "2/3 (sinh từ năm 2000).",
            f"century/sex digit {value[3]} means the 1800s",
        )
    if birth_year > date.today().year:
        raise _bad(
            f"Số định danh cá nhân “{value}”: chữ số thứ 4 (thế kỷ và giới tính) là "
            f"“{value[3]}” và năm sinh “{value[4:6]}” cho năm sinh {birth_year}, "
            "là năm trong tương lai. Chữ số thứ 4 phải là 0/1 (sinh thế kỷ 20) hoặc "
            "2/3 (thế kỷ 21) với năm sinh đã qua.",
            f"century/sex digit {value[3]} gives future birth year {birth_year}",
        )
    return value


def mst_check_digit(first_nine: str) -> int:
    """N10 = 10 - (sum of Ni * Wi mod 11); a result of 10 is written 0 (secondary: as
    independent implementations do; `mst_check_digit = false` turns the check off)."""
    total = sum(w * int(d) for w, d in zip(MST_WEIGHTS, first_nine, strict=True))
    return (10 - total % 11) % 10


def _mst_check_ok(base: str) -> bool:
    return mst_check_digit(base[:9]) == int(base[9])


def validate_tax_code(raw: str, check_digit: bool = True) -> str:
    """Return the tax code as `NNNNNNNNNN` or `NNNNNNNNNN-NNN`, or raise UserError."""
    value = raw.strip().replace(" ", "")
    if not value:
        raise _bad("Mã số thuế đang để trống.", "empty tax code")
    base, _, branch = value.partition("-")
    if not base.isdigit() or (branch and not branch.isdigit()):
        raise _bad(
            f"Mã số thuế “{raw}” chỉ được gồm chữ số (10 số, hoặc 10 số - 3 số cho chi nhánh).",
            f"non-digit characters in tax code {raw!r}",
        )
    if len(base) != 10:
        raise _bad(
            f"Mã số thuế “{value}” phải có 10 chữ số trước dấu gạch (đang có {len(base)}).",
            f"tax code base length {len(base)} != 10",
        )
    if "-" in value and len(branch) != 3:
        raise _bad(
            f"Mã số thuế chi nhánh “{value}” phải có đúng 3 chữ số sau dấu gạch "
            f"(đang có {len(branch)}).",
            f"tax code branch length {len(branch)} != 3",
        )
    if branch == "000":
        raise _bad(
            f"Mã số thuế chi nhánh “{value}”: 3 chữ số sau dấu gạch là số thứ tự chi nhánh, "
            "bắt đầu từ 001, không thể là 000.",
            "tax code branch 000",
        )
    if check_digit and not _mst_check_ok(base):
        raise _bad(
            f"Mã số thuế “{value}” sai chữ số kiểm tra (chữ số thứ 10). Hãy kiểm tra lại "
            "từng chữ số trên giấy chứng nhận đăng ký.",
            f"tax code check digit mismatch for {base}",
        )
    return value


def classify_owner_id(raw: str, check_digit: bool = True) -> OwnerId:
    """A 12-digit value is a personal ID (also the personal tax code since 1/7/2025);
    10 or 10-3 digits is an organisation tax code."""
    value = raw.strip().replace(" ", "")
    digits = value.replace("-", "")
    if "-" in value or len(digits) == 10:
        return OwnerId(validate_tax_code(value, check_digit), "organisation")
    if len(digits) == 12 or not digits.isdigit():
        return OwnerId(validate_citizen_id(value), "citizen")
    raise _bad(
        f"Mã định danh “{raw}” có {len(digits)} chữ số: số định danh cá nhân phải có 12 chữ số, "
        "mã số thuế tổ chức có 10 chữ số (hoặc 10-3 cho chi nhánh).",
        f"owner id length {len(digits)}",
    )


def validate_dossier_code(raw: str) -> str:
    value = raw.strip()
    if not is_dossier_code(value):
        raise _bad(
            f"Mã hồ sơ “{raw}” không đúng dạng <mã cơ quan>-YYMMDD-XXXX "
            "(ví dụ 000.00.07.H47-250716-0001).",
            f"bad dossier code {raw!r}",
        )
    return value


def next_dossier_code(conn: sqlite3.Connection, agency_code: str, day: date) -> str:
    """The next free code of the day. Call inside `db.transaction` (BEGIN IMMEDIATE) and
    insert the dossier in the same transaction, so the sequence is never given twice."""
    if not _AGENCY_RE.fullmatch(agency_code):
        raise _bad(
            f"Mã cơ quan tiếp nhận “{agency_code}” trong motcua.toml không đúng dạng "
            "V1V2V3.Z1Z2.Y1Y2.MX1X2 (ví dụ 000.00.07.H47).",
            f"bad agency code {agency_code!r}",
        )
    prefix = f"{agency_code}-{day:%y%m%d}-"
    rows = conn.execute(
        "SELECT code FROM dossiers WHERE code LIKE ? ESCAPE '\\'",
        (prefix.replace("_", "\\_").replace("%", "\\%") + "%",),
    ).fetchall()
    used = [int(r[0][len(prefix):]) for r in rows if r[0][len(prefix):].isdigit()]
    seq = max(used, default=0) + 1
    if seq > 9999:
        raise _bad(
            f"Đã hết số thứ tự hồ sơ trong ngày {day:%d/%m/%Y} (tối đa 9999).",
            "daily dossier sequence exhausted",
        )
    return f"{prefix}{seq:04d}"


def result_code(dossier_code: str, n: int) -> str:
    """Electronic result code (Nghị định 45/2020 Điều 14, secondary)."""
    return f"{dossier_code}-KQ{n}"
