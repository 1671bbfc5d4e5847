"""The bodies the API sends and receives: frozen dataclasses, English field names,
Vietnamese descriptions of the fields people read. `motcua.api.schema` turns them into
the OpenAPI components; the endpoints build exactly these.

Times are ISO 8601 with the centre's offset (`2026-12-02T14:27:45+07:00`); days are
ISO dates (`2026-12-02`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from motcua.api.schema import described

OWNER_ID_PATTERN = r"^[0-9]{12}$|^[0-9]{10}(-[0-9]{3})?$"
DOSSIER_CODE_PATTERN = r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}-[0-9]{6}-[0-9]{4}$"


@dataclass(frozen=True)
class Error:
    """Lỗi: mã lỗi cho máy, thông báo tiếng Việt cho người đọc, chi tiết kỹ thuật tiếng Anh."""

    code: str = described("Error code for programs, e.g. token_invalid, bad_parameter.")
    message: str = described("Thông báo lỗi tiếng Việt cho người đọc.")
    detail: str = described("Technical detail in English, for logs.")


# ---- warehouse ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReusableDocument:
    """Một giấy tờ còn hiệu lực của chủ sở hữu, có thể tái sử dụng."""

    document_id: int = described("Số tài liệu trong kho.", minimum=1)
    type_code: str = described("Mã loại giấy tờ (danh mục của kho).")
    type_name: str = described("Tên loại giấy tờ.")
    name: str | None = described("Tên giấy tờ.")
    number_symbol: str | None = described("Số, ký hiệu.")
    issue_date: str | None = described("Ngày ban hành.", format="date")
    valid_from: str | None = described("Hiệu lực từ ngày.", format="date")
    valid_to: str | None = described("Hiệu lực đến ngày (không có: không thời hạn).",
                                     format="date")
    dossier_code: str | None = described("Mã hồ sơ nơi giấy tờ được số hóa.")
    result_code: str | None = described("Mã kết quả điện tử, nếu là kết quả giải quyết.")


@dataclass(frozen=True)
class OwnerDocuments:
    """Các giấy tờ còn hiệu lực của một chủ sở hữu vào ngày xét."""

    owner_id: str = described("Số định danh cá nhân hoặc mã số thuế của chủ sở hữu.")
    owner_kind: Literal["citizen", "organisation"] = described(
        "Loại chủ sở hữu: citizen (công dân) hoặc organisation (tổ chức).")
    on: str = described("Ngày xét hiệu lực.", format="date")
    documents: tuple[ReusableDocument, ...] = described("Giấy tờ còn hiệu lực.")


@dataclass(frozen=True)
class DocumentMetadata:
    """Thông tin của một tài liệu trong kho (không kèm nội dung)."""

    id: int = described("Số tài liệu trong kho.", minimum=1)
    original_name: str = described("Tên tệp khi nhận vào kho.")
    media_type: str = described("Kiểu tệp gốc (MIME).")
    page_count: int | None = described("Số trang.")
    state: str = described("Trạng thái trong kho: stored, archived, indexed.")
    ingested_at: str = described("Thời điểm nhận vào kho.", format="date-time")
    sha256: str = described("SHA-256 of the original file.")
    archival_sha256: str | None = described("SHA-256 of the archival PDF/A.")
    stamped: bool = described("Đã có bản PDF/A đóng dấu số hóa.")
    role: Literal["component", "result"] = described(
        "Vai trò: component (thành phần hồ sơ) hoặc result (kết quả giải quyết).")
    type_code: str | None = described("Mã loại giấy tờ.")
    type_name: str | None = described("Tên loại giấy tờ.")
    owner_id: str | None = described("Số định danh / mã số thuế của chủ sở hữu.")
    name: str | None = described("Tên giấy tờ.")
    number_symbol: str | None = described("Số, ký hiệu.")
    issue_date: str | None = described("Ngày ban hành.", format="date")
    issuing_body: str | None = described("Cơ quan ban hành.")
    summary: str | None = described("Trích yếu.")
    valid_from: str | None = described("Hiệu lực từ ngày.", format="date")
    valid_to: str | None = described("Hiệu lực đến ngày.", format="date")
    validity_scope: str | None = described("Phạm vi hiệu lực.")
    dossier_code: str | None = described("Mã hồ sơ chứa tài liệu.")
    result_code: str | None = described("Mã kết quả điện tử.")


@dataclass(frozen=True)
class Validity:
    """Hiệu lực của một tài liệu (kết quả) vào ngày xét."""

    document_id: int = described("Số tài liệu trong kho.", minimum=1)
    result_code: str | None = described("Mã kết quả điện tử.")
    type_code: str | None = described("Mã loại giấy tờ.")
    on: str = described("Ngày xét hiệu lực.", format="date")
    valid: bool = described("Còn hiệu lực vào ngày xét.")
    valid_from: str | None = described("Hiệu lực từ ngày.", format="date")
    valid_to: str | None = described("Hiệu lực đến ngày.", format="date")
    reason: str = described("Giải thích bằng tiếng Việt vì sao còn hoặc hết hiệu lực.")


@dataclass(frozen=True)
class SearchSegment:
    """Một đoạn của trích dẫn; match cho biết đó là từ khớp với truy vấn."""

    text: str = described("Đoạn văn bản.")
    match: bool = described("Là từ khớp với truy vấn.")


@dataclass(frozen=True)
class SearchHit:
    """Một tài liệu khớp với truy vấn (mỗi tài liệu một lần)."""

    document_id: int = described("Số tài liệu trong kho.", minimum=1)
    title: str = described("Tên và số của tài liệu (hoặc tên tệp).")
    page: int = described("Trang khớp nhất (0: tài liệu chưa có chữ).")
    matching_pages: int = described("Số trang chứa mọi từ của truy vấn.")
    score: float = described("Điểm xếp hạng (cao hơn: khớp hơn).")
    dossier_code: str | None = described("Mã hồ sơ.")
    file: str = described("Tên tệp.")
    matched_fields: tuple[str, ...] = described(
        "Các trường khớp (owner_name, owner_id, number, dossier_code, text…).")
    snippet: str = described("Trích dẫn đoạn văn khớp (văn bản thuần).")
    segments: tuple[SearchSegment, ...] = described("Trích dẫn, tách từng đoạn khớp.")
    ingested_at: str | None = described("Thời điểm nhận vào kho.", format="date-time")


@dataclass(frozen=True)
class SearchResults:
    """Kết quả tìm kiếm (cùng dịch vụ với trang tìm kiếm): tài liệu, khớp nhất trước."""

    query: str = described("Truy vấn đã tìm.")
    kind: str = described("Truy vấn được hiểu là gì (personal_id, tax_code, dossier_code, "
                          "result_code, number, name, text).")
    hits: tuple[SearchHit, ...] = described("Các tài liệu khớp, khớp nhất trước.")
    has_more: bool = described("Còn kết quả sau trang này (tăng offset).")
    total_documents: int = described("Tổng số tài liệu trong kho.")


# ---- dossiers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Component:
    """Một thành phần hồ sơ đã có: quét tại quầy hoặc tái sử dụng từ kho."""

    document_id: int = described("Số tài liệu trong kho.", minimum=1)
    type_code: str | None = described("Mã loại giấy tờ.")
    type_name: str | None = described("Tên loại giấy tờ.")
    name: str | None = described("Tên giấy tờ.")
    source: Literal["scanned", "reused"] = described(
        "Nguồn: scanned (số hóa trong hồ sơ này) hoặc reused (tái sử dụng từ kho).")
    status: Literal["received", "attached", "proposed"] = described(
        "received (đã nhận), attached (đã gắn từ kho) hoặc proposed (đề xuất, chưa gắn).")


@dataclass(frozen=True)
class MissingComponent:
    """Một thành phần thủ tục yêu cầu mà hồ sơ còn thiếu."""

    type_code: str = described("Mã loại giấy tờ còn thiếu.")
    type_name: str = described("Tên loại giấy tờ còn thiếu.")


@dataclass(frozen=True)
class DossierResult:
    """Một kết quả giải quyết của hồ sơ."""

    document_id: int = described("Số tài liệu kết quả trong kho.", minimum=1)
    result_code: str | None = described("Mã kết quả điện tử.")
    name: str | None = described("Tên kết quả.")


@dataclass(frozen=True)
class DossierStatus:
    """Tình trạng một hồ sơ: tiến độ, hạn trả, kết quả, thành phần đã có và còn thiếu."""

    code: str = described("Mã hồ sơ <mã cơ quan>-YYMMDD-XXXX.")
    procedure_code: str | None = described("Mã thủ tục hành chính.")
    procedure_name: str | None = described("Tên thủ tục hành chính.")
    field: str | None = described("Lĩnh vực.")
    channel: Literal["online", "direct", "post"] | None = described(
        "Kênh tiếp nhận: online (trực tuyến), direct (trực tiếp), post (bưu chính).")
    status: Literal["pending", "resolved"] = described(
        "pending (đang giải quyết) hoặc resolved (đã giải quyết).")
    status_label: str = described("Tình trạng bằng tiếng Việt.")
    received_at: str | None = described("Thời điểm tiếp nhận.", format="date-time")
    due_date: str | None = described("Ngày hẹn trả kết quả.", format="date")
    resolved_at: str | None = described("Thời điểm có kết quả.", format="date-time")
    outcome: Literal["early", "on_time", "late"] | None = described(
        "Kết quả về thời hạn: early (trước hạn), on_time (đúng hạn), late (quá hạn).")
    outcome_label: str = described("Kết quả về thời hạn bằng tiếng Việt.")
    overdue: bool = described("Đang giải quyết và đã quá ngày hẹn trả.")
    owner_id: str | None = described(
        "Số định danh / mã số thuế của chủ hồ sơ; che một phần với phạm vi read-dossiers.")
    owner_name: str | None = described(
        "Tên chủ hồ sơ; chỉ với phạm vi read-warehouse hoặc write-dossiers.")
    components: tuple[Component, ...] = described("Thành phần hồ sơ đã có.")
    missing: tuple[MissingComponent, ...] = described("Thành phần thủ tục yêu cầu còn thiếu.")
    results: tuple[DossierResult, ...] = described("Kết quả giải quyết.")


@dataclass(frozen=True)
class ReceiveRequest:
    """Tiếp nhận một hồ sơ (ví dụ nộp trực tuyến qua hệ thống một cửa của tỉnh)."""

    procedure_code: str = described("Mã thủ tục trong danh mục của kho.", minLength=1,
                                    maxLength=100)
    # Checked by archive.ids as the CLI checks it (its Vietnamese message), not a pattern.
    owner_id: str = described("Số định danh cá nhân (12 số) hoặc mã số thuế (10 hoặc 10-3 số).",
                              minLength=1, maxLength=100)
    owner_name: str | None = described(
        "Tên chủ hồ sơ, bắt buộc khi chủ sở hữu chưa có trong kho.", default=None,
        maxLength=300)
    channel: Literal["online", "direct", "post"] = described(
        "Kênh tiếp nhận (mặc định online).", default="online")
    received_at: str | None = described(
        "Thời điểm tiếp nhận, ISO 8601 có múi giờ (mặc định: lúc gọi).", default=None,
        format="date-time")


@dataclass(frozen=True)
class ReuseRequest:
    """Gắn một giấy tờ còn hiệu lực trong kho vào hồ sơ, không phải quét lại."""

    document_id: int = described("Số tài liệu trong kho.", minimum=1,
                                 maximum=9223372036854775807)


@dataclass(frozen=True)
class ReuseAttached:
    """Giấy tờ đã được gắn vào hồ sơ."""

    document_id: int = described("Số tài liệu trong kho.", minimum=1)
    dossier_code: str = described("Mã hồ sơ.")
    status: Literal["attached", "proposed"] = described("attached: đã gắn.")


# ---- reports ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Kỳ báo cáo."""

    key: str = described("Period key, e.g. 2025-Q3.")
    label: str = described("Tên kỳ báo cáo.")
    start: str = described("Ngày đầu kỳ.", format="date")
    end: str = described("Ngày cuối kỳ.", format="date")
    open: bool = described("Kỳ chưa kết thúc: số liệu còn thay đổi.")


@dataclass(frozen=True)
class Bieu06Row:
    """Một dòng Biểu 06 (Nghị định 09/2019): số hồ sơ tiếp nhận, giải quyết, đang giải quyết."""

    field: str = described("Lĩnh vực (dòng tổng: Tổng cộng).")
    received_total: int = described("Tổng số hồ sơ tiếp nhận (kể cả kỳ trước chuyển qua).")
    received_online: int = described("Tiếp nhận trực tuyến trong kỳ.")
    received_direct_post: int = described("Tiếp nhận trực tiếp và bưu chính trong kỳ.")
    carried_over: int = described("Từ kỳ trước chuyển qua.")
    resolved_total: int = described("Đã giải quyết.")
    resolved_early: int = described("Giải quyết trước hạn.")
    resolved_on_time: int = described("Giải quyết đúng hạn.")
    resolved_late: int = described("Giải quyết quá hạn.")
    pending_total: int = described("Đang giải quyết.")
    pending_within: int = described("Đang giải quyết, chưa đến hạn.")
    pending_overdue: int = described("Đang giải quyết, đã quá hạn.")
    on_time_rate: float | None = described("Tỷ lệ đúng hạn (%), trước hạn + đúng hạn.")


@dataclass(frozen=True)
class QuarterlyFigures:
    """Số liệu Biểu 06 của một kỳ."""

    period: Period = described("Kỳ báo cáo.")
    rows: tuple[Bieu06Row, ...] = described("Một dòng cho mỗi lĩnh vực.")
    total: Bieu06Row = described("Dòng tổng cộng.")
    apology_letters: int = described("Số thư xin lỗi đã gửi trong kỳ.")
    digitization: dict[str, Any] = described(
        "Số liệu số hóa và tái sử dụng của kỳ (tổng cộng).")
    ratings: dict[str, Any] = described(
        "Đánh giá của người dân, doanh nghiệp về các hồ sơ giải quyết trong kỳ (tổng cộng): "
        "rất hài lòng, hài lòng, không hài lòng, chưa đánh giá, tỷ lệ hài lòng (%).")
    definitions: tuple[str, ...] = described("Định nghĩa các chỉ tiêu.")
    warnings: tuple[str, ...] = described("Cảnh báo (ví dụ kỳ chưa kết thúc).")


@dataclass(frozen=True)
class Indicator:
    """Một chỉ số, kèm công thức."""

    key: str = described("Indicator key.")
    name: str = described("Tên chỉ số.")
    value: float | None = described("Giá trị (%); không có khi mẫu số bằng 0.")
    numerator: int = described("Tử số.")
    denominator: int = described("Mẫu số.")
    formula: str = described("Công thức tính.")


@dataclass(frozen=True)
class ProcedureTime:
    """Thời gian giải quyết trung bình của một thủ tục."""

    procedure_code: str = described("Mã thủ tục.")
    procedure_name: str = described("Tên thủ tục.")
    resolved: int = described("Số hồ sơ đã giải quyết.")
    average_working_days: float = described("Số ngày làm việc trung bình.")
    legal_days: int | None = described("Thời hạn theo quy định (ngày làm việc).")
    on_time: int = described("Số hồ sơ giải quyết trước hạn hoặc đúng hạn.")


@dataclass(frozen=True)
class IndicatorFigures:
    """Các chỉ số phục vụ người dân, doanh nghiệp của một kỳ."""

    period: Period = described("Kỳ tính.")
    indicators: tuple[Indicator, ...] = described("Các chỉ số.")
    processing_time: tuple[ProcedureTime, ...] = described(
        "Thời gian giải quyết trung bình theo thủ tục.")
    processing_time_formula: str = described("Công thức tính thời gian giải quyết.")
