"""Intake: ingest, watch, status."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from motcua import labels
from motcua.cli._base import Context, command, json_option, print_json, with_context
from motcua.cli.progress import batch_progress, outcome_lines
from motcua.errors import ExitCode

if TYPE_CHECKING:
    from motcua.services.intake import FileOutcome, WatchSettings

_COLOUR = {"done": "green", "duplicate": "yellow", "quarantined": "red", "refused": "red",
           "retry": "yellow"}


def _verbose() -> bool:
    return logging.getLogger().isEnabledFor(logging.DEBUG)


def print_outcome(outcome: FileOutcome) -> None:
    """One line per file the pipeline finished, coloured by how it ended (and one per
    page read of a long file while it is OCR'd)."""
    if outcome.state == "processing":
        click.echo(f"    {outcome.source}: {outcome.message}")
        return
    head, message = outcome_lines(outcome)
    click.secho(head, fg=_COLOUR.get(outcome.state))
    click.echo(message)


@command()
@click.argument("paths", metavar="ĐƯỜNG_DẪN...", nargs=-1, required=True,
                # An unreadable file is the pipeline's to refuse, with a recorded reason.
                type=click.Path(path_type=Path, exists=True, readable=False))
@click.option("--incomplete-grace", type=float, default=120.0, show_default=True,
              help="Tệp PDF/ảnh còn thiếu phần cuối (đang được ghi) được chờ thêm tối đa số "
                   "giây này trước khi xử lý, như khi theo dõi thư mục.")
@json_option
@with_context
def ingest(sc: Context, paths: tuple[Path, ...], incomplete_grace: float,
           as_json: bool) -> None:
    """Số hóa các tệp hoặc thư mục ĐƯỜNG_DẪN (mỗi tệp một lần).

    Tệp trong thư mục nhận (inbox) được lấy đi sau khi lưu trữ xong; tệp ở nơi khác
    được giữ nguyên tại chỗ.
    """
    from motcua.services import intake

    if as_json:
        done = intake.ingest(sc, list(paths), incomplete_grace=incomplete_grace)
        print_json([o.as_dict() for o in done.outcomes])
    else:
        # A bar in a terminal, numbered plain lines otherwise.
        with batch_progress(intake.count_files(list(paths))) as report:
            done = intake.ingest(sc, list(paths), progress=report,
                                   incomplete_grace=incomplete_grace)
        parts = [f"{n} {labels.label(labels.INTAKE_STATES, state)}"
                 for state, n in sorted(done.counts().items())]
        click.echo(f"Tổng cộng {len(done.outcomes)} tệp: "
                   + (", ".join(parts) if parts else "không có tệp nào"))
    if not done.all_archived:
        sys.exit(ExitCode.PROBLEMS_FOUND)


@command()
@click.option("--poll/--no-poll", default=None,
              help="Dò thư mục định kỳ thay vì chờ sự kiện (dùng cho thư mục mạng); "
                   "mặc định theo khóa ingest.poll.")
@click.option("--stable-seconds", type=float, default=None,
              help="Chỉ nhận tệp đã không đổi trong số giây này (mặc định: ingest.stable_seconds).")
@click.option("--rescan-minutes", type=float, default=None,
              help="Quét lại toàn bộ thư mục nhận sau mỗi số phút này "
                   "(mặc định: ingest.rescan_minutes).")
@click.option("--incomplete-grace", type=float, default=None,
              help="Tệp PDF/ảnh còn thiếu phần cuối được chờ thêm tối đa số giây này "
                   "trước khi xử lý (mặc định 120).")
@click.option("--until-idle", is_flag=True,
              help="Thoát (mã 0) khi thư mục nhận trống và không còn tệp nào đang chờ.")
@with_context
def watch(sc: Context, poll: bool | None, stable_seconds: float | None,
          rescan_minutes: float | None, incomplete_grace: float | None,
          until_idle: bool) -> None:
    """Theo dõi thư mục nhận và số hóa mọi tệp được đặt vào (Ctrl+C để dừng)."""
    from motcua.services import intake

    def started(settings: WatchSettings) -> None:
        mode = "dò định kỳ (thư mục mạng)" if settings.poll else "sự kiện hệ thống"
        click.echo(f"Đang theo dõi {settings.inbox} ({mode}) — nhấn Ctrl+C để dừng. "
                   f"Nhật ký: {settings.log_file}")

    intake.watch(sc, poll=poll, stable_seconds=stable_seconds, rescan_minutes=rescan_minutes,
                 incomplete_grace=incomplete_grace, until_idle=until_idle,
                 progress=print_outcome, started=started, verbose=_verbose())
    click.echo("Đã dừng theo dõi.")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = int(seconds)
    if s < 60:
        return f"{s} giây"
    if s < 3600:
        return f"{s // 60} phút"
    if s < 86400:
        return f"{s // 3600} giờ {s % 3600 // 60} phút"
    return f"{s // 86400} ngày {s % 86400 // 3600} giờ"


def status_lines(data: dict[str, Any], zone: ZoneInfo) -> list[str]:
    """The queue summary as Vietnamese lines, times in the centre's zone."""
    state = labels.INTAKE_STATES
    lines = [f"Kho làm việc: {data['workspace']}"]
    watcher = data["watcher"]
    if watcher["running"]:
        lines.append(f"Tiến trình theo dõi: đang chạy (PID {watcher['pid']})")
    else:
        lines.append("Tiến trình theo dõi: không chạy")
    workers = data.get("workers") or {}
    if workers.get("backend") == "celery":
        lines.append(f"Nhận dạng chữ trên nhiều máy (Celery): {workers['message']}")
    queue = data["queue"]
    lines.append("Hàng đợi: " + ", ".join(f"{state[s]} {n}" for s, n in queue.items()))
    hour = data["last_hour"]
    lines.append(
        f"Trong 1 giờ qua: {hour['archived']} tệp đã lưu trữ ({hour['pages']} trang), "
        f"{hour['duplicates']} trùng, {hour['quarantined']} cách ly, {hour['refused']} từ chối"
        f" — {hour['files_per_hour']} tệp/giờ")
    oldest = data["oldest_waiting"]
    if oldest is None:
        lines.append("Tệp chờ lâu nhất: không có tệp nào đang chờ")
    else:
        line = (f"Tệp chờ lâu nhất: {oldest['path']} — {state[oldest['state']]}, "
                f"chờ {_duration(oldest['age_seconds'])}, đã thử {oldest['attempts']} lần")
        if oldest["last_error"]:
            line += f" (lỗi gần nhất: {oldest['last_error']})"
        lines.append(line)
    for retry in data["retries"]:
        lines.append(f"  Sẽ thử lại lúc {labels.vi_datetime(retry['next_attempt_at'], zone)}: "
                     f"{retry['path']} (lần {retry['attempts']}; "
                     f"{retry['message'] or retry['last_error']})")
    rescan = data["needs_rescan"]
    if rescan["documents"]:
        lines.append(f"Cần quét lại: {rescan['documents']} tài liệu, {rescan['pages']} trang "
                     "chất lượng thấp")
        for item in rescan["items"]:
            pages = ", ".join(str(p) for p in item["pages"])
            dossier = item["dossier_code"] or "chưa gán hồ sơ"
            lines.append(f"  - Tài liệu {item['document_id']} “{item['original_name']}” "
                         f"({dossier}): trang {pages}")
    else:
        lines.append("Cần quét lại: không có trang nào")
    if data["recent_quarantines"]:
        lines.append("Cách ly gần đây:")
        for q in data["recent_quarantines"]:
            lines.append(f"  - {labels.vi_datetime(q['at'], zone)} {q['name']}: {q['reason']}")
            if q["quarantine_path"]:
                lines.append(f"      tại {q['quarantine_path']}")
    else:
        lines.append("Cách ly gần đây: không có")
    if data["recent_refused"]:
        lines.append("Từ chối gần đây:")
        for r in data["recent_refused"]:
            lines.append(f"  - {labels.vi_datetime(r['at'], zone)} {r['path']}: {r['reason']}")
    parts = data["unfiled_parts"]
    if parts["count"]:
        lines.append(f"Phần tách từ tệp quét theo tờ bìa, chưa gắn hồ sơ: {parts['count']}")
        for p in parts["items"]:
            where = (f"tài liệu {p['document_id']}" if p["document_id"]
                     else labels.label(labels.INTAKE_STATES, p["intake_state"]))
            qr = f" (mã QR: {p['qr_text']})" if p["qr_text"] else ""
            lines.append(f"  - “{p['batch_name']}” trang {p['pages']} — {where}: "
                         f"{p['reason_label']}{qr}")
    return lines


@command()
@json_option
@click.option("--recent", default=10, show_default=True,
              help="Số mục gần đây hiển thị (cách ly, thử lại).")
@with_context
def status(sc: Context, as_json: bool, recent: int) -> None:
    """Tình trạng hàng đợi: số tệp theo trạng thái, tốc độ 1 giờ qua, tệp chờ lâu nhất,
    trang cần quét lại, tệp bị cách ly gần đây."""
    from motcua.services import intake

    got = intake.status(sc, recent=recent)
    if as_json:
        print_json(got)
        return
    for line in status_lines(got.summary, sc.zone):
        click.echo(line)


COMMANDS: list[Any] = [ingest, watch, status]
