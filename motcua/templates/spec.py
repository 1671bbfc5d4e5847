"""The content of a document: a YAML or JSON spec, its schema and its validation.

Schema (keys are English, values Vietnamese; every kind also takes the common keys):

common     number: 7 | "auto" | null (null/absent = draft, `Số:      /KH-UBND`)
           date: 2025-07-16 (required), summary: trích yếu (required except form 01),
           agency: {parent_body, issuing_body, abbreviation, place_name} overrides,
           signature: {form: TM|KT|TL|TUQ|Q|none, authority, title, name, lines},
           recipients: [..], archive: "VT, HCC"
ke-hoach   bases: [..], preamble: [..], sections: [SECTION] (required), closing: [..],
           appendix: {title, note, groups: [{title, tasks: [{content, lead, partners,
           deadline, product}]}]}
quyet-dinh authority, bases: [..] (required), proposal, articles: [{text, items, points}]
quyet-dinh-ke-hoach   quyet-dinh + plan: {summary, preamble, sections, closing, appendix}
bao-cao    preamble, sections (required), closing
SECTION    {title (required), paragraphs, items: [{title | text, points, bullets,
           paragraphs}], blocks: [{paragraph} | {table: {columns, rows, widths_mm,
           caption}} | {image: {path, width_mm, caption}}]}
tiep-nhan  form 01: dossier_code, applicant: {name, address, phone, id_number}, request,
           documents: [{name, form, copies}], sets, processing_days, received_at,
           appointment_at, return_place, receiver, rating_link, rating_until
xin-loi    form 04: addressee, dossier_code, applicant_name, procedure, field, received_on,
           original_due, reason, new_due (after original_due)
bo-sung, tu-choi, dung-giai-quyet, kiem-soat, so-theo-doi: forms 02, 03, 05, 06, 07
           (SCHEMAS below; motcua/templates/SPEC.md in Vietnamese)

Errors are `UserError`s in Vietnamese naming the field by its path (`sections[1].title`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from motcua import labels
from motcua.errors import UserError

KINDS = ("quyet-dinh", "ke-hoach", "quyet-dinh-ke-hoach", "bao-cao", "tiep-nhan", "bo-sung",
         "tu-choi", "xin-loi", "dung-giai-quyet", "kiem-soat", "so-theo-doi")
PAPERS = ("A4", "A5")
SIGN_FORMS = ("TM", "KT", "TM-KT", "TL", "TUQ", "Q", "none")
# Numbers restart at 01 every year (Nghị định 30/2020 Điều 15); a commune issues a few
# hundred documents a year, so anything above four digits is a typing slip.
MAX_NUMBER = 9999
MAX_NUMBER_VI = f"một năm cấp không quá {MAX_NUMBER} số cho một loại văn bản"


@dataclass(frozen=True)
class F:
    """One field: its type, whether it is required, and a Vietnamese description."""

    type: str  # str, int, number, date, datetime, list, obj, any-number
    required: bool = False
    vi: str = ""
    item: Any = None  # for list: a type name or a schema dict; for obj: a schema dict
    choices: tuple[str, ...] = ()
    default: Any = None
    maximum: int | None = None  # int fields: the largest sensible value
    why_max: str = ""  # the reason, said in the message


Schema = dict[str, F]

TASK: Schema = {
    "content": F("str", True, "nội dung nhiệm vụ"),
    "lead": F("str", True, "cơ quan chủ trì"),
    "partners": F("str", False, "cơ quan phối hợp", default=""),
    "deadline": F("str", True, "thời gian hoàn thành"),
    "product": F("str", False, "sản phẩm", default=""),
}
GROUP: Schema = {
    "title": F("str", False, "tên nhóm nhiệm vụ", default=""),
    "tasks": F("list", True, "danh sách nhiệm vụ", item=TASK),
}
APPENDIX: Schema = {
    "title": F("str", False, "tên phụ lục", default=""),
    "note": F("str", False, "dòng ghi chú “(Kèm theo …)”", default=""),
    "groups": F("list", True, "các nhóm nhiệm vụ", item=GROUP),
}
TABLE: Schema = {
    "columns": F("list", True, "tên các cột", item="str"),
    "rows": F("list", True, "các hàng số liệu", item="row"),
    "widths_mm": F("list", False, "độ rộng cột (mm)", item="number", default=None),
    "caption": F("str", False, "chú thích bảng", default=""),
}
IMAGE: Schema = {
    "path": F("str", True, "đường dẫn ảnh PNG"),
    "width_mm": F("number", False, "độ rộng ảnh (mm)", default=150),
    "caption": F("str", False, "chú thích ảnh", default=""),
}
BLOCK: Schema = {
    "paragraph": F("str", False, "đoạn văn"),
    "table": F("obj", False, "bảng số liệu", item=TABLE),
    "image": F("obj", False, "ảnh (biểu đồ)", item=IMAGE),
}
ITEM: Schema = {
    "title": F("str", False, "tiêu đề mục", default=""),
    "text": F("str", False, "nội dung mục", default=""),
    "points": F("list", False, "các điểm a), b), …", item="str", default=[]),
    "bullets": F("list", False, "các gạch đầu dòng", item="str", default=[]),
    "paragraphs": F("list", False, "các đoạn văn", item="str", default=[]),
}
SECTION: Schema = {
    "title": F("str", True, "tên phần (I., II., …)"),
    "paragraphs": F("list", False, "các đoạn văn", item="str", default=[]),
    "items": F("list", False, "các mục 1., 2., …", item=ITEM, default=[]),
    "blocks": F("list", False, "bảng, ảnh, đoạn văn", item=BLOCK, default=[]),
}
AGENCY: Schema = {
    "parent_body": F("str", False, "cơ quan chủ quản"),
    "issuing_body": F("str", False, "cơ quan ban hành"),
    "abbreviation": F("str", False, "chữ viết tắt tên cơ quan"),
    "place_name": F("str", False, "địa danh"),
}
SIGNATURE: Schema = {
    "form": F("str", False, "thẩm quyền ký (TM, KT, TM-KT, TL, TUQ, Q, none)",
              choices=SIGN_FORMS,
              default="TM"),
    "authority": F("str", False, "tên tập thể hoặc người đứng đầu", default=""),
    "title": F("str", False, "chức vụ người ký", default=""),
    "name": F("str", False, "họ tên người ký", default=""),
    "lines": F("list", False, "các dòng thẩm quyền ký", item="str", default=[]),
}
COMMON: Schema = {
    "kind": F("str", False, "loại văn bản", choices=KINDS),
    "number": F("number_or_auto", False, "số văn bản"),
    "date": F("date", True, "ngày ban hành"),
    "summary": F("str", True, "trích yếu nội dung"),
    "agency": F("obj", False, "thông tin cơ quan", item=AGENCY, default={}),
    "signature": F("obj", False, "chữ ký", item=SIGNATURE, default={}),
    "recipients": F("list", False, "nơi nhận", item="str", default=[]),
    "archive": F("str", False, "nơi lưu (Lưu: VT, …)", default="VT"),
    "recipients_list": F("str", False, "nơi nhận in thành danh sách kèm theo (auto, yes, no)",
                         choices=("auto", "yes", "no"), default="auto"),
}
PLAN_BODY: Schema = {
    "bases": F("list", False, "các căn cứ", item="str", default=[]),
    "preamble": F("list", False, "các đoạn mở đầu", item="str", default=[]),
    "sections": F("list", True, "các phần I., II., …", item=SECTION),
    "closing": F("list", False, "các đoạn kết", item="str", default=[]),
}
ARTICLE: Schema = {
    "text": F("str", True, "nội dung điều"),
    "items": F("list", False, "các khoản 1., 2., …", item="str", default=[]),
    "points": F("list", False, "các điểm a), b), …", item="str", default=[]),
}
DECISION: Schema = {
    "authority": F("str", False, "thẩm quyền ban hành (dòng trên “Căn cứ”)", default=""),
    "bases": F("list", True, "các căn cứ", item="str"),
    "proposal": F("str", False, "“Theo đề nghị của …”", default=""),
    "articles": F("list", True, "các điều", item=ARTICLE),
}
PLAN: Schema = {
    "summary": F("str", True, "trích yếu kế hoạch"),
    "preamble": F("list", False, "các đoạn mở đầu", item="str", default=[]),
    "sections": F("list", False, "các phần I., II., …", item=SECTION, default=[]),
    "closing": F("list", False, "các đoạn kết", item="str", default=[]),
    "appendix": F("obj", False, "bảng nhiệm vụ", item=APPENDIX),
}
APPLICANT: Schema = {
    "name": F("str", True, "họ tên người nộp"),
    "address": F("str", False, "địa chỉ", default=""),
    "phone": F("str", False, "số điện thoại", default=""),
    "id_number": F("str", False, "số định danh cá nhân", default=""),
}
RECEIVED_DOC: Schema = {
    "name": F("str", True, "tên giấy tờ"),
    "type_code": F("str", False, "mã loại giấy tờ", default=""),
    "form": F("str", False, "hình thức (bản chính, bản sao, …)", default="Bản chính"),
    "copies": F("int", False, "số lượng", default=1, maximum=99,
                why_max="số bản của một giấy tờ trong một bộ hồ sơ"),
}

STEP: Schema = {
    "step": F("str", True, "bước xử lý"),
    "at": F("datetime", True, "thời gian"),
    "officer": F("str", False, "người thực hiện", default=""),
    "result": F("str", False, "kết quả", default=""),
    "note": F("str", False, "ghi chú", default=""),
}
REGISTER_ENTRY: Schema = {
    "dossier_code": F("str", True, "mã hồ sơ"),
    "procedure": F("str", True, "tên thủ tục hành chính"),
    "applicant": F("str", True, "người nộp hồ sơ"),
    "contact": F("str", False, "địa chỉ, số điện thoại", default=""),
    "sets": F("int", False, "số bộ hồ sơ", default=1, maximum=99,
              why_max="số bộ của một hồ sơ"),
    "received_at": F("datetime", True, "thời gian nhận hồ sơ"),
    "due": F("date", False, "ngày hẹn trả"),
    "resolved_on": F("date", False, "ngày có kết quả"),
    "result": F("str", False, "kết quả (trước hạn, đúng hạn, quá hạn)", default=""),
    "note": F("str", False, "ghi chú", default=""),
}
# The one-stop forms without a number of their own: no trích yếu, no Nơi nhận needed.
FORM_COMMON: Schema = {
    **{k: v for k, v in COMMON.items() if k not in ("summary", "recipients", "archive")},
    "recipients": F("list", False, "nơi nhận", item="str", default=[]),
    "archive": F("str", False, "nơi lưu (Lưu: VT, …)", default=""),
    "paper": F("str", False, "khổ giấy (A5 hoặc A4)", choices=PAPERS),
}

SCHEMAS: dict[str, Schema] = {
    "ke-hoach": {**COMMON, **PLAN_BODY,
                 "appendix": F("obj", False, "phụ lục nhiệm vụ", item=APPENDIX)},
    "quyet-dinh": {**COMMON, **DECISION},
    "quyet-dinh-ke-hoach": {**COMMON, **DECISION,
                            "plan": F("obj", True, "kế hoạch ban hành kèm theo", item=PLAN)},
    "bao-cao": {**COMMON, **PLAN_BODY},
    "tiep-nhan": {
        **FORM_COMMON,
        "dossier_code": F("str", True, "mã hồ sơ"),
        "applicant": F("obj", True, "người nộp hồ sơ", item=APPLICANT),
        "request": F("str", True, "nội dung yêu cầu giải quyết"),
        "documents": F("list", True, "thành phần hồ sơ đã nhận", item=RECEIVED_DOC),
        "missing": F("list", False, "thành phần hồ sơ còn thiếu", item="str", default=[]),
        "copies": F("int", False, "số liên (bản lưu, bản giao người nộp)", default=2,
                    maximum=3, why_max="một liên lưu, một liên giao người nộp hồ sơ"),
        "sets": F("int", False, "số bộ hồ sơ", default=1, maximum=99,
                  why_max="số bộ của một hồ sơ"),
        "processing_days": F("int", True, "thời gian giải quyết (ngày làm việc)",
                             maximum=250, why_max="một năm có khoảng 250 ngày làm việc"),
        "received_at": F("datetime", True, "thời gian nhận hồ sơ"),
        "appointment_at": F("datetime", True, "thời gian hẹn trả kết quả"),
        "return_place": F("str", False, "nơi trả kết quả", default=""),
        "receiver": F("str", True, "họ tên người tiếp nhận"),
        "rating_link": F("str", False, "đường dẫn đánh giá mức độ hài lòng", default=""),
        "rating_until": F("str", False, "ngày cuối dùng được đường dẫn đánh giá", default=""),
    },
    "bo-sung": {
        **FORM_COMMON,
        "dossier_code": F("str", True, "mã hồ sơ"),
        "applicant": F("obj", True, "người nộp hồ sơ", item=APPLICANT),
        "request": F("str", True, "nội dung yêu cầu giải quyết"),
        "received_at": F("datetime", True, "thời gian nhận hồ sơ"),
        "requirements": F("list", True, "nội dung cần bổ sung, hoàn thiện", item="str"),
        "reason": F("str", False, "lý do", default=""),
        "contact": F("str", False, "nơi liên hệ, số điện thoại để được hướng dẫn",
                     default=""),
        "officer": F("str", True, "họ tên người hướng dẫn"),
    },
    "tu-choi": {
        **FORM_COMMON,
        "dossier_code": F("str", False, "mã hồ sơ", default=""),
        "applicant": F("obj", True, "người nộp hồ sơ", item=APPLICANT),
        "request": F("str", True, "nội dung yêu cầu giải quyết"),
        "received_at": F("datetime", True, "thời gian nhận hồ sơ"),
        "reason": F("str", True, "lý do từ chối"),
        "officer": F("str", True, "họ tên người tiếp nhận"),
    },
    "dung-giai-quyet": {
        **{k: v for k, v in COMMON.items() if k != "summary"},
        "summary": F("str", False, "trích yếu",
                     default="Về việc dừng giải quyết hồ sơ thủ tục hành chính"),
        "paper": F("str", False, "khổ giấy (A5 hoặc A4)", choices=PAPERS),
        "addressee": F("str", True, "người nhận (Kính gửi)"),
        "dossier_code": F("str", True, "mã hồ sơ"),
        "applicant_name": F("str", True, "họ tên người nộp"),
        "procedure": F("str", True, "tên thủ tục hành chính"),
        "received_on": F("date", True, "ngày tiếp nhận"),
        "reason": F("str", True, "lý do dừng giải quyết"),
    },
    "kiem-soat": {
        **FORM_COMMON,
        "dossier_code": F("str", True, "mã hồ sơ"),
        "applicant": F("obj", True, "người nộp hồ sơ", item=APPLICANT),
        "procedure": F("str", True, "tên thủ tục hành chính"),
        "handled_by": F("str", False, "cơ quan, bộ phận giải quyết", default=""),
        "received_at": F("datetime", True, "thời gian nhận hồ sơ"),
        "due": F("date", False, "ngày hẹn trả kết quả"),
        "steps": F("list", True, "các bước xử lý", item=STEP),
        "officer": F("str", True, "họ tên người lập phiếu"),
    },
    "so-theo-doi": {
        **FORM_COMMON,
        "period_from": F("date", True, "từ ngày"),
        "period_to": F("date", True, "đến ngày"),
        "entries": F("list", False, "các hồ sơ trong kỳ", item=REGISTER_ENTRY, default=[]),
        "officer": F("str", True, "họ tên người lập sổ"),
    },
    "xin-loi": {
        **{k: v for k, v in COMMON.items() if k != "summary"},
        "paper": F("str", False, "khổ giấy (A5 hoặc A4)", choices=PAPERS),
        "summary": F("str", False, "trích yếu",
                     default="Về việc chậm trả kết quả giải quyết hồ sơ"),
        "unit": F("str", False, "đơn vị soạn thảo (ký hiệu sau số)", default="TTPVHCC"),
        "addressee": F("str", True, "người nhận (Kính gửi)"),
        "dossier_code": F("str", True, "mã hồ sơ"),
        "applicant_name": F("str", True, "họ tên người nộp"),
        "procedure": F("str", True, "tên thủ tục hành chính"),
        "field": F("str", True, "lĩnh vực"),
        "received_on": F("date", True, "ngày tiếp nhận"),
        "original_due": F("date", True, "ngày hẹn trả ban đầu"),
        "reason": F("str", True, "lý do chậm"),
        "new_due": F("date", True, "ngày hẹn trả mới"),
    },
}


@dataclass(frozen=True)
class Spec:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    source: str = ""


def _err(path: str, message: str, source: str) -> UserError:
    where = f" (tệp {source})" if source else ""
    return UserError(f"Nội dung văn bản không hợp lệ{where}: trường “{path}” {message}",
                     f"spec field {path}: invalid")


_TIME_FIRST = re.compile(r"^(\d{1,2}):(\d{2}),? (.+)$")

# A date that is well formed but not in the calendar (29/02/2025, 31/04/2025).
NO_SUCH_DAY = "no such day"


def _as_date(value: Any) -> dt.date | str | None:
    """A date, NO_SUCH_DAY for a well-formed date the calendar lacks, None otherwise.
    Text goes through the one day parser (`labels.parse_day`: 16/07/2025, 2025-07-16)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return labels.parse_day(value)
        except labels.NoSuchDate:
            return NO_SUCH_DAY
        except labels.BadDate:
            return None
    return None


def _as_datetime(value: Any) -> dt.datetime | str | None:
    """A moment, NO_SUCH_DAY for a well-formed one the calendar or the clock lacks, None
    otherwise. Text goes through `labels.parse_datetime`, plus the time-first form the
    forms print ("08:30, 16/07/2025")."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if m := _TIME_FIRST.match(text):
        text = f"{m[3]} {m[1]}:{m[2]}"
    try:
        return labels.parse_datetime(text)
    except labels.NoSuchDate:
        return NO_SUCH_DAY
    except labels.BadDate:
        return None


def nfc(value: Any) -> Any:
    """Every string of a spec in NFC: text typed on some keyboards (or pasted from PDFs)
    arrives decomposed, and a decomposed letter is two glyphs in the document."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [nfc(v) for v in value]
    if isinstance(value, dict):
        return {nfc(k): nfc(v) for k, v in value.items()}
    return value


def _check_value(f: F, value: Any, path: str, source: str) -> Any:
    t = f.type
    if t == "str":
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise _err(path, f"({f.vi}) phải là một chuỗi chữ.", source)
        value = value.strip()
        if f.required and not value:
            raise _err(path, f"({f.vi}) không được để trống.", source)
        if f.choices and value not in f.choices:
            raise _err(path, f"({f.vi}) phải là một trong: {', '.join(f.choices)}; "
                             f"nhận được “{value}”.", source)
        return value
    if t == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _err(path, f"({f.vi}) phải là số nguyên không âm, nhận được “{value}”.",
                       source)
        if f.maximum is not None and value > f.maximum:
            raise _err(path, f"({f.vi}) là {value}, quá lớn: tối đa {f.maximum} "
                             f"({f.why_max}).", source)
        return value
    if t == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise _err(path, f"({f.vi}) phải là số dương, nhận được “{value}”.", source)
        return float(value)
    if t == "number_or_auto":
        if value is None or value == "auto":
            return value
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _err(path, f"({f.vi}) phải là số nguyên dương, “auto” hoặc để trống "
                             f"(bản dự thảo); nhận được “{value}”.", source)
        if value > MAX_NUMBER:
            raise _err(path, f"({f.vi}) là {value}, quá lớn: {MAX_NUMBER_VI}.", source)
        return value
    if t == "date":
        d = _as_date(value)
        if d == NO_SUCH_DAY:
            raise _err(path, f"({f.vi}) là ngày không tồn tại: “{value}”.", source)
        if not isinstance(d, dt.date):
            raise _err(path, f"({f.vi}) phải là ngày dạng 2025-07-16 hoặc 16/07/2025, "
                             f"nhận được “{value}”.", source)
        return d
    if t == "datetime":
        d2 = _as_datetime(value)
        if d2 == NO_SUCH_DAY:
            raise _err(path, f"({f.vi}) là ngày (hoặc giờ) không tồn tại: “{value}”.",
                       source)
        if not isinstance(d2, dt.datetime):
            raise _err(path, f"({f.vi}) phải là thời điểm dạng 2025-07-16 08:30, "
                             f"nhận được “{value}”.", source)
        return d2
    if t == "row":
        if not isinstance(value, list):
            raise _err(path, "(một hàng của bảng) phải là danh sách các ô.", source)
        return ["" if v is None else str(v) for v in value]
    if t == "obj":
        if not isinstance(value, dict):
            raise _err(path, f"({f.vi}) phải là một nhóm trường (từ điển).", source)
        return _check_obj(f.item, value, path, source)
    if t == "list":
        if isinstance(value, str) and f.item == "str":
            value = [value]
        if not isinstance(value, list):
            raise _err(path, f"({f.vi}) phải là một danh sách.", source)
        if f.required and not value:
            raise _err(path, f"({f.vi}) không được để trống.", source)
        item_f = F(f.item, True, f.vi) if isinstance(f.item, str) else F("obj", True, f.vi,
                                                                          item=f.item)
        return [_check_value(item_f, v, f"{path}[{i}]", source) for i, v in enumerate(value)]
    raise AssertionError(f"unknown field type {t}")


def _check_obj(schema: Schema, data: dict[str, Any], prefix: str, source: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in data:
        if key not in schema:
            path = f"{prefix}.{key}" if prefix else str(key)
            close = difflib.get_close_matches(str(key), list(schema), n=1)
            hint = f" Có phải ý bạn là “{close[0]}”?" if close else \
                f" Các trường được phép: {', '.join(schema)}."
            raise _err(path, f"không có trong mẫu.{hint}", source)
    for key, f in schema.items():
        path = f"{prefix}.{key}" if prefix else key
        value = data.get(key)
        if value is None or (isinstance(value, str) and not value.strip() and f.type != "str"):
            if f.required:
                raise _err(path, f"({f.vi}) là bắt buộc nhưng đang thiếu.", source)
            out[key] = list(f.default) if isinstance(f.default, list) else \
                (dict(f.default) if isinstance(f.default, dict) else f.default)
            continue
        out[key] = _check_value(f, value, path, source)
    return out


def validate(kind: str, data: Any, source: str = "") -> Spec:
    """Check `data` against the schema of `kind`; return the normalised spec."""
    if kind not in SCHEMAS:
        raise UserError(f"Loại văn bản “{kind}” không có. Các loại: {', '.join(KINDS)}.",
                        f"unknown kind {kind}")
    if not isinstance(data, dict):
        raise UserError(f"Tệp nội dung {source} phải là một nhóm trường (YAML/JSON dạng "
                        "từ điển).", "spec is not a mapping")
    clean = _check_obj(SCHEMAS[kind], nfc(data), "", source)
    if clean.get("kind") and clean["kind"] != kind:
        raise _err("kind", f"ghi “{clean['kind']}” nhưng lệnh yêu cầu “{kind}”.", source)
    _check_order(kind, clean, source)
    for i, sec in enumerate(_all_sections(clean)):
        for j, item in enumerate(sec.get("items", [])):
            if not item["title"] and not item["text"]:
                raise _err(f"sections[{i}].items[{j}]",
                           "cần có “title” hoặc “text”.", source)
        for j, block in enumerate(sec.get("blocks", [])):
            present = [k for k in ("paragraph", "table", "image") if block.get(k)]
            if len(present) != 1:
                raise _err(f"sections[{i}].blocks[{j}]",
                           "phải có đúng một trong “paragraph”, “table”, “image”.", source)
            table = block.get("table")
            if table:
                ncol = len(table["columns"])
                for r, row in enumerate(table["rows"]):
                    if len(row) != ncol:
                        raise _err(f"sections[{i}].blocks[{j}].table.rows[{r}]",
                                   f"có {len(row)} ô nhưng bảng có {ncol} cột.", source)
    return Spec(kind=kind, data=clean, source=source)


def _vi_when(moment: dt.date) -> str:
    if isinstance(moment, dt.datetime):
        return f"{moment:%H:%M} ngày {moment:%d/%m/%Y}"
    return f"{moment:%d/%m/%Y}"


# (kind, earlier field, later field, Vietnamese message): the later one must be strictly
# after the earlier one, or the paper contradicts itself.
ORDER_RULES: tuple[tuple[str, str, str, str], ...] = (
    ("tiep-nhan", "received_at", "appointment_at",
     "thời gian hẹn trả kết quả phải sau thời gian nhận hồ sơ"),
    ("xin-loi", "original_due", "new_due",
     "ngày hẹn trả mới phải sau ngày hẹn trả ban đầu"),
    ("xin-loi", "received_on", "original_due",
     "ngày hẹn trả ban đầu không được trước ngày tiếp nhận"),
    ("so-theo-doi", "period_from", "period_to",
     "ngày cuối kỳ không được trước ngày đầu kỳ"),
)


def _check_order(kind: str, clean: dict[str, Any], source: str) -> None:
    for rule_kind, first, later, message in ORDER_RULES:
        if rule_kind != kind or clean.get(first) is None or clean.get(later) is None:
            continue
        a, b = clean[first], clean[later]
        bad = b < a if first in ("received_on", "period_from") else b <= a
        if bad:
            raise _err(later, f"là {_vi_when(b)}, nhưng {message} ({_vi_when(a)}).", source)


def _all_sections(clean: dict[str, Any]) -> list[dict[str, Any]]:
    sections = list(clean.get("sections") or [])
    plan = clean.get("plan") or {}
    sections += list(plan.get("sections") or [])
    return sections


def load_spec(kind: str, path: Path) -> Spec:
    """Read a YAML or JSON file and validate it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UserError(f"Không có tệp nội dung {path}.", str(exc)) from exc
    except IsADirectoryError as exc:
        raise UserError(f"{path} là một thư mục, không phải tệp nội dung YAML/JSON.",
                        str(exc)) from exc
    except PermissionError as exc:
        raise UserError(f"Không có quyền đọc tệp nội dung {path}.", str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise UserError(f"Tệp nội dung {path} không phải văn bản UTF-8.", str(exc)) from exc
    except OSError as exc:
        raise UserError(f"Không đọc được tệp nội dung {path}.", str(exc)) from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise UserError(f"Tệp nội dung {path} sai cú pháp YAML/JSON: {exc}", str(exc)) from exc
    return validate(kind, data, str(path))
