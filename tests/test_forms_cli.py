"""The forms and report options from the command line (issue 13): `owner add --address
--phone`, `dossier receipt | supplement | refuse | stop | control-sheet | register`,
`report quarterly --date --recipient --sign-as` with the open-period warning, and the
Vietnamese usage errors of `render`. DOCX only (`--no-pdf`): the PDFs of these forms are
checked in test_forms.py."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from docx import Document

from motcua.archive.settings import local_now
from motcua.errors import ExitCode
from motcua.workspace import Workspace
from tests.conftest import RunCli

ROOT = Path(__file__).resolve().parent.parent
OWNER = "001190012345"


def docx_text(path: str | Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        parts += [c.text for r in table.rows for c in r.cells]
    return "\n".join(parts)


def _received(workspace: Workspace, cli: RunCli, procedure: str = "1.001193") -> str:
    at = (local_now(workspace) - timedelta(hours=1)).strftime("%d/%m/%Y %H:%M")
    out = cli(workspace, "dossier", "receive", "-p", procedure, "-o", OWNER, "-c", "direct",
              "--at", at, "--no-print", "--json").json()
    return str(out["code"])


def test_forms_from_the_command_line(workspace: Workspace, cli: RunCli) -> None:
    cli(workspace, "owner", "add", OWNER, "--name", "Nguyễn Thị Hoa", "--address",
        "Thôn Đông, xã Gia Lộc", "--phone", "0912 345 678")
    code = _received(workspace, cli)
    receipt = cli(workspace, "dossier", "receipt", code, "--paper",
                  "to_khai_khai_sinh", "--paper", "giay_chung_sinh:Bản sao có chứng thực:2",
                  "--no-pdf", "--json").json()
    assert receipt["form"] == "01" and receipt["pdf"] is None
    text = docx_text(receipt["docx"])
    assert "1. Tờ khai đăng ký khai sinh (bản chính; số lượng: 01)." in text
    assert "2. Giấy chứng sinh (bản sao có chứng thực; số lượng: 02)." in text
    assert "Thành phần hồ sơ còn thiếu" in text and "Giấy chứng nhận kết hôn." in text
    assert "Địa chỉ: Thôn Đông, xã Gia Lộc; số điện thoại: 0912 345 678." in text
    bad = cli(workspace, "dossier", "receipt", code, "--paper", "giay_la:Bản chính",
              check=False)
    assert bad.exit_code != 0 and "Loại giấy tờ “giay_la” không có" in bad.output

    sup = cli(workspace, "dossier", "supplement", code, "--no-pdf", "--json").json()
    assert sup["form"] == "02"
    assert "1. Bổ sung Thẻ Căn cước / Căn cước công dân." in docx_text(sup["docx"])
    shown = cli(workspace, "dossier", "supplement", code, "--require", "Ký lại tờ khai",
                "--reason", "chữ ký không khớp", "--no-pdf")
    assert "Đã lập Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ (Mẫu 02) cho hồ sơ" in shown.stdout

    other = _received(workspace, cli, "1.000894")
    ref = cli(workspace, "dossier", "refuse", other, "--reason", "chưa đủ tuổi kết hôn",
              "--no-pdf", "--json").json()
    assert ref["form"] == "03" and "chưa đủ tuổi kết hôn." in docx_text(ref["docx"])
    missing = cli(workspace, "dossier", "refuse", other, check=False)
    assert missing.exit_code != 0

    third = _received(workspace, cli, "1.000656")
    stop = cli(workspace, "dossier", "stop", third, "--reason", "người nộp rút hồ sơ",
               "--number", "4", "--no-pdf", "--json").json()
    assert stop["form"] == "05" and "Số: 04/TB-UBND" in docx_text(stop["docx"])

    sheet = cli(workspace, "dossier", "control-sheet", code, "--no-pdf", "--json").json()
    text = docx_text(sheet["docx"])
    assert sheet["form"] == "06" and "Tiếp nhận hồ sơ" in text
    assert text.count("Yêu cầu bổ sung, hoàn thiện hồ sơ (Mẫu 02)") == 2

    today = local_now(workspace).date()
    reg = cli(workspace, "dossier", "register", "--from",
              (today - timedelta(days=7)).strftime("%d/%m/%Y"), "--to",
              today.isoformat(), "--no-pdf", "--json").json()
    text = docx_text(reg["docx"])
    assert reg["form"] == "07" and all(c in text for c in (code, other, third))
    assert "Từ chối (Mẫu 03)" in text and "Dừng giải quyết (Mẫu 05)" in text
    wrong = cli(workspace, "dossier", "register", "--from", "31/04/2025", "--to",
                "2025-05-01", check=False)
    assert wrong.exit_code != 0 and "không tồn tại" in wrong.output

    contact = cli(workspace, "owner", "contact", OWNER, "--phone", "0988 000 111",
                  "--json").json()
    assert contact == {"owner_id": OWNER, "address": "Thôn Đông, xã Gia Lộc",
                       "phone": "0988 000 111"}


def test_quarterly_report_options_and_open_period_warning(workspace: Workspace,
                                                          cli: RunCli) -> None:
    cli(workspace, "owner", "add", OWNER, "--name", "Nguyễn Thị Hoa")
    _received(workspace, cli)
    today = local_now(workspace).date()
    span = ["--from", (today - timedelta(days=20)).isoformat(),
            "--to", (today + timedelta(days=10)).isoformat()]
    res = cli(workspace, "report", "quarterly", *span, "--json")
    data = res.json()
    assert data["period"]["open"] is True and len(data["warnings"]) == 1
    assert "Kỳ báo cáo chưa kết thúc" in data["warnings"][0]
    assert f"đến ngày {today:%d/%m/%Y}" in data["warnings"][0]
    assert "Cảnh báo: Kỳ báo cáo chưa kết thúc" in res.stderr
    closed = cli(workspace, "report", "quarterly", "--quarter", "2025Q1", "--json")
    assert closed.json()["warnings"] == [] and "Cảnh báo" not in closed.stderr

    out = workspace.root / "reports" / "bc"
    made = cli(workspace, "report", "quarterly", *span, "--date", "05/01/2026",
               "--recipient", "Văn phòng UBND tỉnh", "--recipient", "Sở Nội vụ",
               "--sign-as", "TM-KT", "--no-pdf", "-o", str(out))
    assert "Cảnh báo: Kỳ báo cáo chưa kết thúc" in made.stderr
    text = docx_text(out.with_suffix(".docx"))
    assert "ngày 05 tháng 01 năm 2026" in text
    assert "- Văn phòng UBND tỉnh;\n- Sở Nội vụ;\n- Lưu: VT, TTPVHCC." in text
    assert "TM. ỦY BAN NHÂN DÂN\nKT. CHỦ TỊCH\nPHÓ CHỦ TỊCH" in text
    assert "Lưu ý: Kỳ báo cáo chưa kết thúc" in text
    bad = cli(workspace, "report", "quarterly", "--quarter", "2025Q1", "--date", "29/02/2025",
              check=False)
    assert bad.exit_code != 0 and "không tồn tại" in bad.output


def test_render_usage_errors_are_vietnamese(workspace: Workspace, cli: RunCli,
                                            tmp_path: Path) -> None:
    res = cli(workspace, "render", "giay-moi", "x.yaml", "-o", str(tmp_path / "x"),
              check=False)
    assert res.exit_code != 0
    assert "Loại văn bản “giay-moi” không có. Các loại:" in res.output
    assert "so-theo-doi" in res.output and "Invalid value" not in res.output
    res = cli(workspace, "render", "ke-hoach", str(tmp_path / "khong-co.yaml"), "-o",
              str(tmp_path / "x"), check=False)
    assert res.exit_code != 0 and "Không có tệp nội dung" in res.output
    assert "does not exist" not in res.output
    # no -o: the output is named after the spec; the huge number is refused before any
    # file is written (no LibreOffice)
    res = cli(workspace, "render", "ke-hoach", str(ROOT / "examples" / "ke-hoach.yaml"),
              "--number", "123456", check=False)
    assert res.exit_code != 0 and "Missing option" not in res.output
    assert "quá lớn" in res.output and "9999" in res.output
    res = cli(workspace, "render", "xin-loi", str(ROOT / "examples" / "xin-loi.yaml"),
              "--sign", str(tmp_path / "khong-co.p12"), check=False)
    assert res.exit_code != 0 and "Không đọc được tệp chứng thư số" in res.output


def test_click_usage_errors_are_vietnamese(workspace: Workspace, cli: RunCli) -> None:
    cases = [
        (["render", "--numbr", "3"], "Không có tùy chọn '--numbr'. Có phải là '--number'?",
         "motcua render --help"),
        (["render"], "Thiếu đối số 'LOẠI'.", "motcua render --help"),
        (["report", "quarterly", "--sign-as", "XX"],
         "Giá trị không hợp lệ cho '--sign-as': 'XX' không thuộc các giá trị",
         "motcua report quarterly --help"),
        (["dossier", "register", "--to", "1"], "Thiếu tùy chọn '--from'.",
         "motcua dossier register --help"),
        (["--bogus"], "Không có tùy chọn '--bogus'.", "motcua --help"),
    ]
    for args, message, hint in cases:
        res = cli(workspace, *args, check=False)
        assert res.exit_code == ExitCode.USAGE, (args, res.output)
        # the program is "main" under click's test runner, "motcua" on a terminal
        where = hint.removeprefix("motcua ")
        assert f"Lỗi: {message}" in res.stderr and f" {where}\n" in res.stderr
        assert "Error:" not in res.output and "Usage:" not in res.output


def test_receive_with_the_papers_handed_over(workspace: Workspace, cli: RunCli) -> None:
    """`dossier receive --paper …` does what the counter's page does: records the papers,
    issues form 01 when every required one is there, form 02 naming the missing ones
    otherwise; a bad paper is refused before any dossier is made."""
    cli(workspace, "owner", "add", OWNER, "--name", "Nguyễn Thị Hoa")
    every = ["to_khai_khai_sinh", "giay_chung_sinh:bản sao có chứng thực:2", "cccd:Bản sao",
             "giay_chung_nhan_ket_hon"]
    args = ["dossier", "receive", "-p", "1.001193", "-o", OWNER, "-c", "direct", "--no-pdf"]
    full = cli(workspace, *args, *[x for p in every for x in ("--paper", p)], "--json").json()
    text = docx_text(full["receipt"]["docx"])
    assert "tiep-nhan" in full["receipt"]["docx"]
    assert "2. Giấy chứng sinh (bản sao có chứng thực; số lượng: 02)." in text
    assert "Thành phần hồ sơ còn thiếu" not in text

    part = cli(workspace, *args, "--paper", "giay_chung_sinh", "--paper", "cccd")
    assert "Còn thiếu giấy tờ phải bổ sung: Tờ khai đăng ký khai sinh; Giấy chứng nhận " \
           "kết hôn" in part.stdout
    assert "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ (Mẫu 02): " in part.stdout

    before = cli(workspace, "dossier", "list", "--json").json()
    bad = cli(workspace, *args, "--paper", "cccd:bản nháp", check=False)
    assert bad.exit_code != 0 and "Hình thức “bản nháp” không hợp lệ" in bad.output
    assert cli(workspace, "dossier", "list", "--json").json() == before
