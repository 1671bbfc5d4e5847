"""Vietnamese words for every code people see, one word per code; the one date parser and
the one date/time formatter.

Codes stay English in the database and in JSON; screens, CLI lines and documents show
these labels. The CLI and the web page must agree, so neither keeps labels of its own.

Times are stored as UTC ISO (`db.now()`); people read them in the centre's zone as
`dd/mm/yyyy HH:MM`, dates as `dd/mm/yyyy`. People type dates as `YYYY-MM-DD` (the
browser's date picker) or `DD/MM/YYYY` (how dates are written in Vietnam); both are
accepted everywhere through `parse_day`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo

from motcua.errors import UserError

# ---- accounts: roles ----
ROLES: dict[str, str] = {
    "tiep_nhan": "Tiếp nhận",
    "chuyen_vien": "Chuyên viên",
    "lanh_dao": "Lãnh đạo",
    "quan_tri": "Quản trị",
}
# ---- end accounts ----

# ---- intake and documents ----
INTAKE_STATES: dict[str, str] = {
    "pending": "đang chờ",
    "processing": "đang xử lý",
    "retry": "chờ thử lại",
    "done": "đã lưu trữ",
    "duplicate": "trùng (đã có trong kho)",
    "quarantined": "đã cách ly",
    "refused": "từ chối",
    "vanished": "tệp đã biến mất",
}
DOCUMENT_STATES: dict[str, str] = {
    "stored": "đã lưu bản gốc, chưa nhận dạng chữ",
    "archived": "đã số hóa, chưa lập chỉ mục",
    "indexed": "đã số hóa, tra cứu được",
}
DOSSIER_SOURCES: dict[str, str] = {
    "folder": "theo thư mục nhận",
    "text": "mã hồ sơ tìm thấy trong nội dung",
    "manual": "gán thủ công",
    "import": "nhập từ gói dữ liệu",
}
IDENTIFIER_KINDS: dict[str, str] = {
    "citizen_id": "Số định danh cá nhân",
    "tax_code": "Mã số thuế",
    "dossier_code": "Mã hồ sơ",
}
MEDIA_TYPES: dict[str, str] = {
    "application/pdf": "PDF",
    "image/jpeg": "Ảnh JPEG",
    "image/png": "Ảnh PNG",
    "image/tiff": "Ảnh TIFF",
}
# The files a document may have, by the column holding the stored path.
FILE_KINDS: dict[str, str] = {
    "original": "bản gốc",
    "archival": "bản lưu trữ PDF/A",
    "stamped": "bản có dấu số hóa",
}
DOCUMENT_ROLES: dict[str, str] = {"component": "thành phần hồ sơ", "result": "kết quả"}
# stamps.kind holds the words printed on the stamp itself.
STAMP_KINDS: dict[str, str] = {
    "BẢN SỐ HÓA": "bản số hóa",
    "KẾT QUẢ ĐIỆN TỬ": "kết quả điện tử",
}
ISSUED_KINDS: dict[str, str] = {
    "quyet-dinh": "Quyết định",
    "ke-hoach": "Kế hoạch",
    "quyet-dinh-ke-hoach": "Quyết định ban hành kế hoạch",
    "bao-cao": "Báo cáo",
    "tiep-nhan": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả (Mẫu 01)",
    "bo-sung": "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ (Mẫu 02)",
    "tu-choi": "Phiếu từ chối tiếp nhận, giải quyết hồ sơ (Mẫu 03)",
    "xin-loi": "Phiếu xin lỗi và hẹn lại ngày trả kết quả (Mẫu 04)",
    "dung-giai-quyet": "Thông báo dừng giải quyết hồ sơ (Mẫu 05)",
    "kiem-soat": "Phiếu kiểm soát quá trình giải quyết hồ sơ (Mẫu 06)",
    "so-theo-doi": "Sổ theo dõi hồ sơ (Mẫu 07)",
}
FIXITY_PROBLEMS: dict[str, str] = {
    "missing": "THIẾU",
    "corrupt": "HỎNG",
    "orphaned": "THỪA (không có trong CSDL)",
}

# ---- counter: owners, dossiers ----
CHANNELS: dict[str, str] = {"online": "trực tuyến", "direct": "trực tiếp", "post": "bưu chính"}
OWNER_KINDS: dict[str, str] = {"citizen": "Công dân", "organisation": "Tổ chức"}
DOSSIER_STATUS: dict[str, str] = {"pending": "đang giải quyết", "resolved": "đã giải quyết",
                                  "cancelled": "đã hủy"}
# The dossier list's status filter (the desk's tiles link to these).
DOSSIER_FILTERS: dict[str, str] = {
    "pending": DOSSIER_STATUS["pending"], "due_today": "đến hạn hôm nay",
    "overdue": "quá hạn", "resolved": DOSSIER_STATUS["resolved"],
    "cancelled": DOSSIER_STATUS["cancelled"]}
OUTCOMES: dict[str, str] = {"early": "trước hạn", "on_time": "đúng hạn", "late": "quá hạn"}
REUSE_STATUS: dict[str, str] = {"attached": "đã gắn", "proposed": "đề xuất"}

# ---- audit actions ----
AUDIT_ACTIONS: dict[str, str] = {
    "ingest": "số hóa tài liệu",
    "split": "tách tệp quét theo tờ bìa",
    "assign": "gán tài liệu vào hồ sơ",
    "stamp": "đóng dấu số hóa",
    "view": "xem",
    "download": "tải tệp",
    "meta.update": "sửa thông tin tài liệu",
    "issued.add": "lưu văn bản ban hành",
    "result.add": "lưu kết quả giải quyết",
    "owner.add": "thêm chủ sở hữu",
    "owner.contact": "ghi địa chỉ, số điện thoại chủ sở hữu",
    "form.issue": "lập mẫu một cửa",
    "dossier.new": "tạo hồ sơ",
    "dossier.receive": "tiếp nhận hồ sơ",
    "dossier.resolve": "ghi nhận kết quả hồ sơ",
    "dossier.import": "nhập hồ sơ từ CSV",
    "dossier.edit": "sửa thông tin hồ sơ",
    "dossier.cancel": "hủy hồ sơ",
    "dossier.merge": "gộp hồ sơ",
    "dossier.note": "ghi chú hồ sơ",
    "dossier.papers": "nhận thêm thành phần hồ sơ",
    "apology.issue": "tạo văn bản xin lỗi",
    "apology.reclaim": "tạo lại văn bản xin lỗi",
    "apology.cancel": "hủy văn bản xin lỗi",
    "reuse.attach": "gắn giấy tờ tái sử dụng",
    "reuse.propose": "đề xuất tái sử dụng",
    "export": "xuất gói dữ liệu",
    "import": "nhập gói dữ liệu",
    "verify": "kiểm tra toàn vẹn kho",
    "owner.rename": "sửa thông tin chủ sở hữu",
    "quarantine_retry": "xử lý lại tệp bị cách ly",
    "quarantine_dismiss": "bỏ qua tệp bị cách ly",
    # the JSON API for other systems
    "api.call": "hệ thống khác gọi API",
    "token.add": "cấp mã truy cập API",
    "token.revoke": "thu hồi mã truy cập API",
    # accounts and web sessions
    "user_add": "thêm tài khoản",
    "user_disable": "khóa tài khoản",
    "user_roles": "đổi vai trò",
    "user_passwd": "đổi mật khẩu",
    "user_passwd_failed": "đổi mật khẩu không thành công",
    "login_ok": "đăng nhập",
    "login_failed": "đăng nhập sai",
    "login_locked": "tạm khóa đăng nhập",
    "login_refused": "từ chối đăng nhập",
    "session_start": "mở phiên làm việc",
    "logout": "đăng xuất",
    # citizens' ratings (issue 17)
    "rating.add": "công dân đánh giá việc giải quyết hồ sơ",
    "rating.device_add": "thêm màn hình đánh giá",
    "rating.device_pair": "ghép màn hình đánh giá",
    "rating.device_revoke": "thu hồi màn hình đánh giá",
    "rating.kiosk_choose": "chọn màn hình đánh giá tại quầy",
    "rating.link": "cấp đường dẫn đánh giá",
}

# Why a document stays in no dossier; `{hint}` is what was read (folder name, code).
UNFILED_REASONS: dict[str, str] = {
    "folder_unknown_code": "Thư mục «{hint}» mang mã hồ sơ chưa được cấp (chưa tiếp nhận): "
                           "tài liệu chưa gán vào hồ sơ nào.",
    "folder_not_a_code": "Tên thư mục «{hint}» không phải là mã hồ sơ: tài liệu chưa gán vào "
                         "hồ sơ nào.",
    "text_unknown_code": "Nội dung ghi mã hồ sơ {hint} nhưng mã này chưa được cấp: tài liệu "
                         "chưa gán vào hồ sơ nào.",
    # parts of a batch scan split at its cover sheets (motcua.ingest.split)
    "qr_before_first_cover": "Các trang đứng trước tờ bìa đầu tiên của tệp quét «{hint}»: "
                             "chưa rõ thuộc hồ sơ nào, tài liệu chưa gán vào hồ sơ nào.",
    "qr_unknown_code": "Mã QR trên tờ bìa ghi mã hồ sơ {hint} nhưng mã này chưa được cấp "
                       "(chưa tiếp nhận): tài liệu chưa gán vào hồ sơ nào.",
    "qr_unreadable": "Mã QR trên tờ bìa không đọc được: tài liệu chưa gán vào hồ sơ nào.",
    "qr_ambiguous": "Tờ bìa mang nhiều mã hồ sơ ({hint}), không đoán là hồ sơ nào: tài liệu "
                    "chưa gán vào hồ sơ nào.",
}


def unfiled_reason(code: str | None, hint: str | None) -> str:
    """The Vietnamese sentence saying why a document is in no dossier ('' when none)."""
    if not code:
        return ""
    return UNFILED_REASONS.get(code, code).replace("{hint}", hint or "")


# ---- citizens' ratings (Điều 31 Nghị định 118/2025/NĐ-CP) ----
RATING_LEVELS: dict[str, str] = {
    "very_satisfied": "rất hài lòng",
    "satisfied": "hài lòng",
    "dissatisfied": "không hài lòng",
}
RATING_CHANNELS: dict[str, str] = {"kiosk": "màn hình tại quầy", "link": "đường dẫn trên phiếu"}
RATING_EVENTS: dict[str, str] = {"receive": "tiếp nhận hồ sơ", "return": "trả kết quả"}


def label(table: dict[str, str], code: str | None) -> str:
    """The Vietnamese word for `code`, or the code itself when it has none (never blank)."""
    if not code:
        return ""
    return table.get(code, code)


# ---- dates: one parser, one formatter ----

_ISO_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
# 16/07/2025, also 16-07-2025 and 16.7.2025 as people type them.
_DMY_DAY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


class BadDate(UserError):
    """A date or time a person typed that cannot be read or does not exist."""


class NoSuchDate(BadDate):
    """Well formed, but not in the calendar (31/02/2025, 25:00)."""


def _day_parts(text: str) -> tuple[int, int, int] | None:
    m = _ISO_DAY.match(text)
    if m:
        return int(m[1]), int(m[2]), int(m[3])
    m = _DMY_DAY.match(text)
    if m:
        return int(m[3]), int(m[2]), int(m[1])
    return None


def parse_day(text: str, label: str = "ngày") -> date:
    """`YYYY-MM-DD` or `DD/MM/YYYY` (also `-` or `.` between the parts) → a date.

    A well-formed date that is not in the calendar (31/02/2025) gets its own message."""
    value = text.strip()
    parts = _day_parts(value)
    if parts is None:
        raise BadDate(f"{_cap(label)} “{text}” không phải ngày hợp lệ; hãy viết dạng DD/MM/YYYY "
                      "(ví dụ 16/07/2025) hoặc YYYY-MM-DD.", f"bad date {text!r}")
    try:
        return date(*parts)
    except ValueError as exc:
        raise NoSuchDate(f"{_cap(label)} “{text}”: ngày không tồn tại.",
                      f"no such date {text!r}: {exc}") from exc


def parse_optional_day(text: str | None, label: str = "ngày") -> date | None:
    """`parse_day`, with None or blank meaning no date."""
    if text is None or not text.strip():
        return None
    return parse_day(text, label)


def parse_datetime(text: str, label: str = "thời điểm", tz: tzinfo | None = None) -> datetime:
    """A day as `parse_day` reads it, optionally followed by `HH:MM[:SS]` (a space, a
    comma or `T` between), or a full ISO timestamp with its offset. A bare day is midnight.

    A time without offset is the centre's wall clock: placed in `tz` when given, else
    returned naive for the caller to place. A time with an offset keeps its instant
    (converted to `tz` when given). Never the machine's zone."""
    value = text.strip()
    parsed: datetime | None = None
    head, _, rest = value.replace("T", " ", 1).replace(",", " ").partition(" ")
    parts = _day_parts(head)
    if parts is not None:
        rest = rest.strip()
        tm = _TIME.match(rest) if rest else None
        if rest and tm is None:
            parsed = _iso_moment(value)
            if parsed is None:
                raise _bad_moment(text, label)
        else:
            try:
                parsed = datetime(*parts, int(tm[1]) if tm else 0, int(tm[2]) if tm else 0,
                                  int(tm[3] or 0) if tm else 0)
            except ValueError as exc:
                raise NoSuchDate(f"{_cap(label)} “{text}”: ngày hoặc giờ không tồn tại.",
                              f"no such moment {text!r}: {exc}") from exc
    else:
        parsed = _iso_moment(value)
        if parsed is None:
            raise _bad_moment(text, label)
    if tz is None:
        return parsed
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed.astimezone(tz)


def _iso_moment(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _bad_moment(text: str, label: str) -> BadDate:
    return BadDate(f"{_cap(label)} “{text}” không phải thời điểm hợp lệ; hãy viết dạng "
                   "16/07/2025 08:30 hoặc 2025-07-16 08:30.", f"bad datetime {text!r}")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def utc_iso(moment: datetime) -> str:
    """An aware moment as the database stores it: UTC ISO to the second."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no instant; place it in a zone first")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def vi_date(value: str | date | None) -> str:
    """A date (or the date part of an ISO string) as `dd/mm/yyyy`; blank for nothing."""
    if not value:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    try:
        return date.fromisoformat(value[:10]).strftime("%d/%m/%Y")
    except ValueError:
        return value


def local_moment(value: str | datetime, zone: tzinfo) -> datetime:
    """A stored timestamp in the centre's zone; a naive one is taken as UTC (how the
    database stores times)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)


def vi_datetime(value: str | datetime | None, zone: tzinfo, seconds: bool = False) -> str:
    """A stored timestamp as `dd/mm/yyyy HH:MM` in the centre's zone (`zone` is required:
    staff read the centre's time whatever zone the machine runs in)."""
    if not value:
        return ""
    try:
        moment = local_moment(value, zone)
    except ValueError:
        return str(value)
    return moment.strftime("%d/%m/%Y %H:%M:%S" if seconds else "%d/%m/%Y %H:%M")


def vi_decimal(value: float | None, digits: int = 1) -> str:
    """A number with a decimal comma, as Vietnamese writes it."""
    if value is None:
        return ""
    return f"{value:.{digits}f}".replace(".", ",")


def vi_percent(value: float | None) -> str:
    """A percentage as Vietnamese writes it (81,7%); a dash when there is nothing to
    divide."""
    if value is None:
        return "—"
    return f"{value:.1f}%".replace(".", ",")


# ---- collation: Vietnamese alphabetical order ----
# a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y (f j w z kept for foreign
# words); the tone marks (none, huyền, hỏi, ngã, sắc, nặng) only break ties.
_VI_LETTERS = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_VI_RANK = {c: i for i, c in enumerate(_VI_LETTERS)}
_VI_SHAPES = {("a", "\u0306"): "ă", ("a", "\u0302"): "â", ("e", "\u0302"): "ê",
              ("o", "\u0302"): "ô", ("o", "\u031b"): "ơ", ("u", "\u031b"): "ư"}
_VI_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


def vi_sort_key(text: str) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...], str]:
    """Sort key of Vietnamese text for lists people read: letters in the Vietnamese
    alphabet (Đ right after D, Ơ after Ô), case ignored, tone marks as a tie-breaker.
    Code-point order would put every Đ after Y."""
    import unicodedata

    letters: list[list[str]] = []
    tones: list[int] = []
    for ch in unicodedata.normalize("NFD", text.casefold()):
        if unicodedata.combining(ch) and letters:
            base = letters[-1][0]
            if (base, ch) in _VI_SHAPES:
                letters[-1][0] = _VI_SHAPES[(base, ch)]
            elif ch in _VI_TONES:
                tones[-1] = _VI_TONES[ch]
            continue
        letters.append([ch])
        tones.append(0)
    primary = tuple((1, _VI_RANK[c]) if c in _VI_RANK else (0, ord(c))
                    for c in (x[0] for x in letters))
    return primary, tuple(tones), text
# ---- end collation ----
