"""Citizens' ratings (issue 17): the link printed on form 01 works once, expires, and a
forged, reused or expired token gets one answer that says nothing about any dossier; the
kiosk's pairing and prompts; the report's figures against a hand count over a generated
quarter with ratings, unrated dossiers included."""

from __future__ import annotations

import csv
import json
import random
import re
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from docx import Document

from motcua import db, labels
from motcua.archive import audit
from motcua.archive.catalogue import load_catalogue
from motcua.counter.workdays import load_calendar
from motcua.errors import UserError
from motcua.reports.numbers import NO_FIELD, NO_OFFICER, quarter_numbers, ratings_by_officer
from motcua.reports.periods import parse_quarter
from motcua.reports.quarterly import report_spec
from motcua.services import Actor, accounts, counter, forms, open_context, ratings, reports
from motcua.services.access import AccessDenied
from motcua.workspace import Workspace, init_workspace, load_workspace
from tests.dossier_gen import generate, load
from tests.web_kit import ADMIN_ACTOR, client_for, make_officers

PROCEDURE = "1.004873"
LINK_BASE = "https://motcua.gialoc.vn"
OWNER_ID, OWNER_NAME = "030185001234", "Nguyễn Văn Bảo Mật"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    made = init_workspace(tmp_path_factory.mktemp("ratings") / "ws")
    config = made.root / "motcua.toml"
    config.write_text(config.read_text(encoding="utf-8") + (
        f'\n[ratings]\nlink_base = "{LINK_BASE}"\nlink_days = 7\nkiosk_seconds = 60\n'
        'criteria = ["Thái độ phục vụ", "Thời gian giải quyết"]\n'), encoding="utf-8")
    loaded = load_workspace(made.root)
    make_officers(loaded)
    return loaded


def _actor(ws: Workspace, login: str) -> Actor:
    with open_context(ws, ADMIN_ACTOR) as ctx:
        return accounts.actor_for_login(ctx.conn, login)


def _docx_text(path: str) -> str:
    doc = Document(path)
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts += [c.text for c in row.cells]
    return "\n".join(parts)


def _receive(ws: Workspace) -> tuple[str, str]:
    """A dossier received at the counter by `tiepnhan`, form 01 as DOCX: (code, token)."""
    with open_context(ws, _actor(ws, "tiepnhan")) as ctx:
        papers = [(t, "Bản chính", 1) for t in ctx.catalogue.get(PROCEDURE).requires]
        got = counter.receive_at_counter(ctx, PROCEDURE, OWNER_ID, "direct", papers,
                                         owner_name=OWNER_NAME, pdf=False)
    assert got.form.form == "01"
    text = _docx_text(got.form.docx)
    found = re.search(re.escape(LINK_BASE) + r"/danh-gia/([A-Za-z0-9_-]+) \(dùng một lần, "
                      r"đến hết ngày (\d\d/\d\d/\d{4})\)", text)
    assert found, text
    return got.code, found.group(1)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:400]
    return found.group(1)


def _refusal(html: str) -> str:
    """The refusal page without its per-request form token."""
    return re.sub(r'value="[^"]*"', 'value=""', html)


def _rows(ws: Workspace, sql: str, *args: Any) -> list[dict[str, Any]]:
    with closing(db.connect(ws.db_path)) as conn:
        return [dict(r) for r in conn.execute(sql, args)]


def test_printed_link_works_once_expires_and_refuses_alike(ws: Workspace) -> None:
    code, token = _receive(ws)
    with client_for(ws, None) as web:
        page = web.get(f"/danh-gia/{token}")
        assert page.status_code == 200 and code in page.text
        # Nothing about the dossier beyond its code: no owner, no procedure.
        assert OWNER_NAME not in page.text and OWNER_ID not in page.text
        assert "kết hôn" not in page.text.lower()
        # No level chosen: asked again, the link still unused.
        again = web.post(f"/danh-gia/{token}", data={"csrf_token": _csrf(page.text)})
        assert again.status_code == 400 and "Hãy chọn một mức đánh giá" in again.text
        done = web.post(f"/danh-gia/{token}", data={
            "csrf_token": _csrf(again.text), "muc": "satisfied", "tieu_chi_0": "very_satisfied",
            "y_kien": "Cán bộ hướng dẫn tận tình"})
        assert done.status_code == 200 and "Xin cảm ơn" in done.text
        reused_get = web.get(f"/danh-gia/{token}")
        reused_post = web.post(f"/danh-gia/{token}", data={
            "csrf_token": web.cookies.get("motcua_login"), "muc": "dissatisfied"})
        forged = web.get(f"/danh-gia/{secrets.token_urlsafe(16)}")
        odd = web.get("/danh-gia/..%2F..%2Fetc")
    for refused in (reused_get, reused_post, forged):
        assert refused.status_code == 404, refused.text[:300]
        assert ratings.LINK_REFUSED in refused.text
        assert code not in refused.text
    assert _refusal(reused_get.text) == _refusal(forged.text) == _refusal(reused_post.text)
    assert odd.status_code == 404
    stored = _rows(ws, "SELECT * FROM ratings WHERE dossier_code = ?", code)
    assert len(stored) == 1
    row = stored[0]
    assert (row["level"], row["channel"]) == ("satisfied", "link")
    assert json.loads(row["criteria"]) == {"Thái độ phục vụ": "very_satisfied"}
    assert row["received_by"] == "Trần Thị Tiếp (tiepnhan)" and row["returned_by"] is None
    # The citizen's identity is nowhere in the rating or its audit entry.
    assert not any(OWNER_ID in str(v) or OWNER_NAME in str(v) for v in row.values())
    entry = [e for e in _audit(ws, code) if e.action == "rating.add"]
    assert len(entry) == 1 and entry[0].actor == "Công dân (đường dẫn đánh giá)"
    assert entry[0].details == {"channel": "link"}
    # Rated: printing form 01 again prints no new link.
    with open_context(ws, _actor(ws, "tiepnhan")) as ctx:
        assert ratings.issue_link(ctx, code) is None


def _audit(ws: Workspace, code: str) -> list[audit.AuditEntry]:
    with closing(db.connect(ws.db_path)) as conn:
        return list(audit.entries(conn, f"dossier:{code}"))


def test_link_expires_and_a_reprint_replaces_it(ws: Workspace) -> None:
    code, first = _receive(ws)
    with open_context(ws, _actor(ws, "tiepnhan")) as ctx:
        again = forms.receipt(ctx, code)  # form 01 printed again (PDF/A): a new link
    second = re.search(r"/danh-gia/([A-Za-z0-9_-]+)", _docx_text(again.docx))
    assert second and second.group(1) != first
    # The printed form: still one A5 page per copy, the link and its QR code on each.
    assert again.pdf is not None
    info = subprocess.run(["pdfinfo", again.pdf], capture_output=True, text=True,
                          check=True).stdout
    assert re.search(r"^Pages:\s+2$", info, re.M), info
    text = " ".join(subprocess.run(["pdftotext", again.pdf, "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    assert text.count(second.group(1)) == 2, text
    images = subprocess.run(["pdfimages", "-list", again.pdf], capture_output=True,
                            text=True, check=True).stdout.splitlines()[2:]
    per_page = [line.split()[0] for line in images if line.split()[2] == "image"]
    assert per_page.count("1") == per_page.count("2") == 2, images  # both QR codes
    with client_for(ws, None) as web:
        assert web.get(f"/danh-gia/{first}").status_code == 404  # the old paper's link
        assert web.get(f"/danh-gia/{second.group(1)}").status_code == 200
        expires = _rows(ws, "SELECT expires_at FROM rating_links WHERE dossier_code = ?",
                        code)[0]["expires_at"]
        days = datetime.fromisoformat(expires) - datetime.now(UTC)
        assert timedelta(days=6, hours=23) < days <= timedelta(days=7)
        # Seven days pass (the clock of the row, as the days would move it).
        with closing(db.connect(ws.db_path)) as conn:
            conn.execute("UPDATE rating_links SET expires_at = ? WHERE dossier_code = ?",
                         ((datetime.now(UTC) - timedelta(seconds=1)).isoformat(
                             timespec="seconds"), code))
        expired = web.get(f"/danh-gia/{second.group(1)}")
        forged = web.get(f"/danh-gia/{secrets.token_urlsafe(16)}")
        assert expired.status_code == forged.status_code == 404
        assert _refusal(expired.text) == _refusal(forged.text)
        posted = web.post(f"/danh-gia/{second.group(1)}", data={
            "csrf_token": web.cookies.get("motcua_login"), "muc": "very_satisfied"})
        assert posted.status_code == 404
    assert _rows(ws, "SELECT * FROM ratings WHERE dossier_code = ?", code) == []


def test_kiosk_pairing_prompt_and_one_rating(ws: Workspace, tmp_path: Path) -> None:
    with open_context(ws, _actor(ws, "quantri")) as ctx:
        new = ratings.add_device(ctx, "Quầy số 2")
        with pytest.raises(AccessDenied):
            ratings.choose_kiosk(ctx, new.view.id)  # quản trị has no counter
    with open_context(ws, ADMIN_ACTOR) as ctx:
        paired = ratings.pair(ctx, new.pairing_code)
        with pytest.raises(ratings.RatingRefused):
            ratings.pair(ctx, new.pairing_code)  # a pairing code works once
        assert ratings.device_for(ctx, new.pairing_code) is None
        device = ratings.device_for(ctx, paired.token)
        assert device is not None and device.name == "Quầy số 2"
        assert [e.action for e in audit.entries(ctx.conn, "kiosk:Quầy số 2")] == [
            "rating.device_add", "rating.device_pair"]
    code, _token = _receive(ws)  # before the counter chose its kiosk: no prompt
    officer = _actor(ws, "tiepnhan")
    with open_context(ws, officer) as ctx:
        assert ratings.kiosk_prompt(ctx, device) is None
        ratings.choose_kiosk(ctx, device.id)
        result = tmp_path / "ket-qua.pdf"
        from tests import scans
        scans.write_pdf([scans.render_page("clean", 3, max_lines=2)], result)
        counter.resolve(ctx, code, result)
        prompt = ratings.kiosk_prompt(ctx, device)
        assert prompt is not None and prompt.dossier_code == code
        assert prompt.event == "return" and 50 <= prompt.seconds_left <= 60
        assert prompt.criteria == ("Thái độ phục vụ", "Thời gian giải quyết")
        with pytest.raises(ratings.RatingRefused):  # only the dossier it shows
            ratings.rate_at_kiosk(ctx, device, "000.00.07.H47-990101-0001", "satisfied")
        with pytest.raises(UserError, match="mức đánh giá"):
            ratings.rate_at_kiosk(ctx, device, code, "tuyệt vời")
        done = ratings.rate_at_kiosk(ctx, device, code, "very_satisfied")
        assert done.level_label == "rất hài lòng"
        assert ratings.kiosk_prompt(ctx, device) is None  # back to neutral
        # The dossier handled again (a prompt left over, a new receipt): never rated twice.
        ratings.after_handling(ctx, code, "return")
        assert ratings.kiosk_prompt(ctx, device) is None
        ctx.conn.execute("INSERT INTO rating_prompts (device_id, dossier_code, event,"
                         " shown_at, until) VALUES (?, ?, 'return', ?, ?)",
                         (device.id, code, db.now(), (datetime.now(UTC) + timedelta(
                             minutes=1)).isoformat(timespec="seconds")))
        with pytest.raises(ratings.RatingRefused, match="đã được đánh giá"):
            ratings.rate_at_kiosk(ctx, device, code, "dissatisfied")
        # Another dossier received at that counter: shown until its time runs out.
        papers = [(t, "Bản chính", 1) for t in ctx.catalogue.get(PROCEDURE).requires]
        other = counter.receive_at_counter(ctx, PROCEDURE, OWNER_ID, "direct", papers,
                                           pdf=False).code
        shown = ratings.kiosk_prompt(ctx, device)
        assert shown is not None and (shown.dossier_code, shown.event) == (other, "receive")
        ctx.conn.execute("UPDATE rating_prompts SET until = ? WHERE device_id = ?",
                         ((datetime.now(UTC) - timedelta(seconds=1)).isoformat(
                             timespec="seconds"), device.id))
        assert ratings.kiosk_prompt(ctx, device) is None  # the neutral screen again
        with pytest.raises(ratings.RatingRefused):
            ratings.rate_at_kiosk(ctx, device, other, "satisfied")
    row = _rows(ws, "SELECT * FROM ratings WHERE dossier_code = ?", code)[0]
    assert (row["level"], row["channel"]) == ("very_satisfied", "kiosk")
    assert row["received_by"] == row["returned_by"] == "Trần Thị Tiếp (tiepnhan)"
    with open_context(ws, _actor(ws, "quantri")) as ctx:
        ratings.revoke_device(ctx, device.id)
        assert ratings.device_for(ctx, paired.token) is None


# ---- the report's figures against a hand count ------------------------------------------

OFFICER_NAMES = ("Trần Thị Tiếp (tiepnhan)", "Lê Văn Nhận (nhan2)", "Đỗ Văn Trả (tra1)")


@pytest.fixture(scope="module")
def quarter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A generated year around 2025Q3 with ratings: some made after the quarter's end,
    some of dossiers resolved in other periods or never; officers on some dossiers."""
    ws = init_workspace(tmp_path_factory.mktemp("ratings-q") / "ws")
    cat, cal = load_catalogue(ws), load_calendar(ws)
    gen = generate(list(cat.procedures), cal, n=1500, start=date(2025, 3, 1),
                   end=date(2025, 10, 31), seed=17, with_documents=False)
    rnd = random.Random(5)
    levels = list(labels.RATING_LEVELS)
    rated: dict[str, dict[str, Any]] = {}
    officers: dict[str, tuple[str | None, str | None]] = {}
    for d in gen.dossiers:
        if rnd.random() < 0.55:
            base = date.fromisoformat(d["resolved_on"] or d["received_on"])
            rated[d["code"]] = {"level": rnd.choice(levels),
                                "rated_on": base + timedelta(days=rnd.choice((0, 0, 1, 5, 40)))}
        if rnd.random() < 0.7:
            officers[d["code"]] = (rnd.choice(OFFICER_NAMES),
                                   rnd.choice(OFFICER_NAMES) if d["resolved_on"] else None)
    with closing(db.connect(ws.db_path)) as conn:
        load(conn, gen)
        with db.transaction(conn):
            conn.executemany(
                "INSERT INTO ratings (dossier_code, level, channel, rated_at, rated_on)"
                " VALUES (?, ?, 'kiosk', ?, ?)",
                [(c, r["level"], f"{r['rated_on']}T03:00:00+00:00", r["rated_on"].isoformat())
                 for c, r in rated.items()])
            for c, (rec, ret) in officers.items():
                audit.record(conn, "dossier.receive", f"dossier:{c}", rec, {})
                if ret:
                    audit.record(conn, "dossier.resolve", f"dossier:{c}", ret, {})
    yield {"ws": ws, "gen": gen, "rated": rated, "officers": officers}


def _hand(q: dict[str, Any], start: date, end: date
          ) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Per field and per officer: resolved in [start, end], and the ratings made by end."""
    keys = ("resolved", *labels.RATING_LEVELS)
    by_field: dict[str, dict[str, int]] = {}
    by_officer: dict[str, dict[str, int]] = {}
    for d in q["gen"].dossiers:
        if not d["resolved_on"] or not start <= date.fromisoformat(d["resolved_on"]) <= end:
            continue
        field = (d["field"] or "").strip() or NO_FIELD
        rating = q["rated"].get(d["code"])
        level = rating["level"] if rating and rating["rated_on"] <= end else None
        rec, ret = q["officers"].get(d["code"], (None, None))
        for bucket in [by_field.setdefault(field, dict.fromkeys(keys, 0))] + [
                by_officer.setdefault(o, dict.fromkeys(keys, 0))
                for o in {rec or NO_OFFICER, ret or NO_OFFICER}]:
            bucket["resolved"] += 1
            if level:
                bucket[level] += 1
    return by_field, by_officer


def _plain(row: Any) -> dict[str, int]:
    return {"resolved": row.resolved, "very_satisfied": row.very_satisfied,
            "satisfied": row.satisfied, "dissatisfied": row.dissatisfied}


def test_report_figures_equal_a_hand_count(quarter: dict[str, Any], tmp_path: Path) -> None:
    ws: Workspace = quarter["ws"]
    period = parse_quarter("2025Q3")
    by_field, by_officer = _hand(quarter, period.start, period.end)
    late = sum(1 for c, r in quarter["rated"].items() if r["rated_on"] > period.end)
    assert late and by_field  # the data has ratings after the end, and fields
    with closing(db.connect(ws.db_path)) as conn:
        numbers = quarter_numbers(conn, period)
        officers = ratings_by_officer(conn, period)
    assert {r.field: _plain(r) for r in numbers.ratings} == by_field
    total = {k: sum(b[k] for b in by_field.values()) for k in next(iter(by_field.values()))}
    t = numbers.ratings_total
    assert _plain(t) == total
    unrated = total["resolved"] - total["very_satisfied"] - total["satisfied"] \
        - total["dissatisfied"]
    assert t.unrated == unrated > 0
    # Unrated dossiers are in the denominator, never among the satisfied.
    assert t.satisfied_rate == pytest.approx(
        100 * (total["very_satisfied"] + total["satisfied"]) / total["resolved"])
    assert {r.field: _plain(r) for r in officers} == by_officer
    assert NO_OFFICER in by_officer

    # The JSON, the CSV and the indicators carry the same figures.
    csv_path = tmp_path / "bieu06.csv"
    with open_context(ws, ADMIN_ACTOR) as ctx:
        rep = reports.quarterly(ctx, quarter="2025Q3", write=False, csv_path=csv_path)
        ind = reports.indicators(ctx, quarter="2025Q3")
    data = json.loads(json.dumps(rep.as_dict()))
    assert {r["field"]: {k: r[k] for k in total} for r in data["ratings"]} == by_field
    assert data["ratings_total"]["unrated"] == unrated
    with (tmp_path / "bieu06-danh-gia.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["field", "resolved", "rated", "very_satisfied", "satisfied",
                       "dissatisfied", "unrated", "satisfied_rate"]
    got = {r[0]: {"resolved": int(r[1]), "very_satisfied": int(r[3]), "satisfied": int(r[4]),
                  "dissatisfied": int(r[5])} for r in rows[1:-1]}
    assert got == by_field and rows[-1][0] == "Tổng cộng" and int(rows[-1][6]) == unrated
    assert float(rows[-1][7]) == pytest.approx(t.satisfied_rate, abs=0.05)
    line = next(x for x in ind.lines if x.key == "satisfaction")
    assert (line.numerator, line.denominator) == (
        total["very_satisfied"] + total["satisfied"], total["resolved"])
    assert "không tính là hài lòng" in line.formula

    # The Báo cáo: a section with the indicator and its formula, and the table.
    spec = report_spec(ws, numbers, tmp_path / "chart.png", issue_date=date(2025, 9, 20),
                       today=date(2025, 9, 20))
    section = next(s for s in spec["sections"] if s["title"].startswith("ĐÁNH GIÁ"))
    assert f"{unrated} hồ sơ chưa được đánh giá" in section["paragraphs"][0]
    assert "Cách tính" in section["items"][0]["text"]
    table = section["blocks"][0]["table"]
    assert table["rows"][-1][:6] == ["Tổng cộng", str(total["resolved"]),
                                     str(total["very_satisfied"]), str(total["satisfied"]),
                                     str(total["dissatisfied"]), str(unrated)]
