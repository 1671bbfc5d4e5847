"""/api/v1 (issue 16) with real parts: a real workspace whose birth certificate came
through the counter (received, resolved with a real PDF, stamped, indexed), tokens made
by the real service and CLI, `motcua serve` in a subprocess, schemathesis over the
served OpenAPI description.

The web's permission matrix (test_web_auth) covers the pages; the API's routes are
authenticated by tokens and their matrix is here: every operation of the served
description refuses a missing, unknown or wrong-scope token.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pikepdf
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from motcua import db
from motcua.api import ENDPOINTS, openapi_document
from motcua.archive import audit
from motcua.services import Actor, counter, documents, open_context, tokens
from motcua.services.access import Role, Scope
from motcua.web import create_app
from motcua.workspace import Workspace, init_workspace
from tests.conftest import run_cli
from tests.web_kit import ADMIN_ACTOR, make_officers, serving

CHILD = "001225012345"   # a citizen born in 2025 (4th digit 2: the 2000s)
PARENT = "001085012345"
ALL_SCOPES = [s.value for s in Scope]


@dataclass(frozen=True)
class Warehouse:
    ws: Workspace
    birth_certificate: int
    result_code: str
    birth_dossier: str


def _pdf(path: Path) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    pdf.docinfo["/Title"] = "Giay khai sinh"
    pdf.save(path)
    return path


def build_warehouse(root: Path) -> Warehouse:
    """A birth registration received at the counter and resolved: its result, the
    child's birth certificate, is in the warehouse with owner, type and issue date."""
    ws = init_workspace(root / "ws")
    officer = Actor(login="lan", full_name="Nguyễn Thị Lan", kind="user",
                    roles=frozenset({Role.COUNTER, Role.SPECIALIST}))
    with open_context(ws, officer) as ctx:
        counter.add_owner(ctx, PARENT, "Nguyễn Văn An")
        counter.add_owner(ctx, CHILD, "Nguyễn Minh Khang")
        got = counter.receive(ctx, "1.001193", CHILD, "direct", print_receipt=False)
        code = got.record["code"]
        done = counter.resolve(ctx, code, _pdf(root / "giay-khai-sinh.pdf"))
        documents.set_meta(ctx, str(done.document_id), {
            "type_code": "giay_khai_sinh", "owner_id": CHILD, "name": "Giấy khai sinh",
            "number_symbol": "123/2025", "issue_date": "2025-03-01"})
    return Warehouse(ws, done.document_id, done.result_code, code)


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    return build_warehouse(tmp_path)


def new_token(ws: Workspace, name: str, scopes: list[str], **kwargs: Any) -> str:
    with open_context(ws, ADMIN_ACTOR) as ctx:
        return tokens.create(ctx, name, scopes, **kwargs).token


def api_client(ws: Workspace) -> TestClient:
    return TestClient(create_app(ws), base_url="http://127.0.0.1")


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def audit_entries(ws: Workspace) -> list[audit.AuditEntry]:
    conn = db.connect(ws.db_path)
    try:
        return list(audit.entries(conn))
    finally:
        conn.close()


def assert_error_body(r: httpx.Response, status: int, code: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"code", "message", "detail"}, body
    assert re.search(r"[ăâđêôơưáàảãạéèẻẽẹíìỉĩịóòỏõọúùủũụýỳỷỹỵ]", body["message"].lower()), \
        body  # a Vietnamese sentence
    if code:
        assert body["code"] == code, body


# ---- the provincial system ----------------------------------------------------------------


def test_provincial_system_reuses_a_birth_certificate(wh: Warehouse) -> None:
    """Look up the citizen's valid birth certificate by ID, receive a dossier, attach the
    reused document, read the dossier's status — each call on the audit log under the
    token's name, against a real `motcua serve`."""
    token = new_token(wh.ws, "mot-cua-tinh",
                      ["read-warehouse", "read-dossiers", "write-dossiers"])
    before = len(audit_entries(wh.ws))
    with serving(wh.ws) as url, httpx.Client(base_url=url + "/api/v1",
                                             headers=bearer(token), timeout=30) as api:
        found = api.get(f"/owners/{CHILD}/documents", params={"type": "giay_khai_sinh"})
        assert found.status_code == 200, found.text
        docs = found.json()["documents"]
        assert [d["document_id"] for d in docs] == [wh.birth_certificate]
        assert docs[0]["type_name"] == "Giấy khai sinh"
        assert docs[0]["result_code"] == wh.result_code

        made = api.post("/dossiers", json={"procedure_code": "2.000815", "owner_id": CHILD,
                                           "channel": "online"})
        assert made.status_code == 201, made.text
        code = made.json()["code"]
        assert made.json()["status"] == "pending" and made.json()["due_date"]
        assert re.fullmatch(r".+T\d\d:\d\d:\d\d\+07:00", made.json()["received_at"])

        attached = api.post(f"/dossiers/{code}/reuses",
                            json={"document_id": wh.birth_certificate})
        assert attached.status_code == 201, attached.text
        assert attached.json() == {"document_id": wh.birth_certificate, "dossier_code": code,
                                   "status": "attached"}

        status = api.get(f"/dossiers/{code}")
        assert status.status_code == 200, status.text
        body = status.json()
        assert body["status"] == "pending" and body["status_label"] == "đang giải quyết"
        reused = [c for c in body["components"] if c["source"] == "reused"]
        assert reused == [{"document_id": wh.birth_certificate, "type_code": "giay_khai_sinh",
                           "type_name": "Giấy khai sinh", "name": "Giấy khai sinh",
                           "source": "reused", "status": "attached"}]
        assert {m["type_code"] for m in body["missing"]} == {"ban_chinh_can_chung_thuc",
                                                              "cccd"}
        assert body["owner_id"] == CHILD and body["owner_name"] == "Nguyễn Minh Khang"

    new = audit_entries(wh.ws)[before:]
    by_token = [e for e in new if e.actor == "API (token:mot-cua-tinh)"]
    calls = [e.details["endpoint"] for e in by_token if e.action == "api.call"]
    assert calls == ["owner_documents", "receive", "attach_reuse", "dossier"]
    assert all(e.details["status"] in (200, 201) for e in by_token if e.action == "api.call")
    # The services' own entries name the token too: receipt, reuse, view.
    actions = {e.action for e in by_token}
    assert {"dossier.receive", "reuse.attach", "view"} <= actions
    assert {e.actor for e in new} == {"API (token:mot-cua-tinh)"}


def test_documents_pdf_validity_results_and_reports(wh: Warehouse) -> None:
    token = new_token(wh.ws, "doc-reader", ["read-warehouse", "reports"])
    with api_client(wh.ws) as c:
        meta = c.get(f"/api/v1/documents/{wh.birth_certificate}", headers=bearer(token))
        assert meta.status_code == 200, meta.text
        assert meta.json()["result_code"] == wh.result_code and meta.json()["stamped"]
        assert meta.json()["ingested_at"].endswith("+07:00")
        pdf = c.get(f"/api/v1/documents/{wh.birth_certificate}/pdf", headers=bearer(token))
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        with pikepdf.open(__import__("io").BytesIO(pdf.content)) as doc:
            assert len(doc.pages) == 1
        valid = c.get(f"/api/v1/results/{wh.result_code}", headers=bearer(token)).json()
        assert valid["valid"] is True and valid["document_id"] == wh.birth_certificate
        assert valid["reason"] == "Còn hiệu lực, không ghi thời hạn."
        before = c.get(f"/api/v1/documents/{wh.birth_certificate}/validity",
                       params={"on": "2020-01-01"}, headers=bearer(token)).json()
        assert before["valid"] is True  # no valid_from: valid since issued
        missing = c.get("/api/v1/results/000.00.07.H47-250716-0001-KQ9", headers=bearer(token))
        assert_error_body(missing, 404, "not_found")
        bad_id = c.get("/api/v1/owners/0012250123/documents", headers=bearer(token))
        assert_error_body(bad_id, 400)
        # The CLI's own message for a wrong check digit of a tax code (archive.ids).
        assert "chữ số kiểm tra" in bad_id.json()["message"]
        quarter = datetime.now(UTC).astimezone().strftime("%Y") + "-Q" + str(
            (datetime.now(UTC).month - 1) // 3 + 1)
        figures = c.get("/api/v1/reports/quarterly", params={"year": "2025"},
                        headers=bearer(token))
        assert figures.status_code == 200, figures.text
        assert figures.json()["total"]["field"]
        # The citizens' ratings total (issue 17); the per-officer table is internal.
        assert {"resolved", "unrated", "satisfied_rate"} <= set(figures.json()["ratings"])
        two = c.get("/api/v1/reports/quarterly", params={"year": "2025", "quarter": quarter},
                    headers=bearer(token))
        assert_error_body(two, 400, "rejected")  # exactly one period, as the CLI says
        ind = c.get("/api/v1/reports/indicators", params={"quarter": quarter},
                    headers=bearer(token))
        assert ind.status_code == 200 and ind.json()["indicators"][0]["key"] == "on_time_rate"


def test_read_dossiers_sees_no_owner_in_full(wh: Warehouse) -> None:
    token = new_token(wh.ws, "status-only", ["read-dossiers"])
    with api_client(wh.ws) as c:
        r = c.get(f"/api/v1/dossiers/{wh.birth_dossier}", headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["owner_id"] == "0012******45" and r.json()["owner_name"] is None
    assert r.json()["results"][0]["result_code"] == wh.result_code
    assert r.json()["outcome"] in ("early", "on_time")


# ---- tokens --------------------------------------------------------------------------------


def test_revoked_token_is_refused_at_once_and_stored_token_is_a_hash(wh: Warehouse) -> None:
    out = run_cli(wh.ws, "token", "add", "so-tu-phap", "--scopes", "read-warehouse,reports",
                  "--allow-ip", "testclient-is-no-ip,", check=False)
    assert out.exit_code == 1 and "Địa chỉ IP" in out.output
    out = run_cli(wh.ws, "token", "add", "so-tu-phap", "--scopes", "read-warehouse,reports",
                  "--expires", "31/12/2099")
    token = re.search(r"mct_[A-Za-z0-9_-]{43}", out.stdout)
    assert token, out.stdout
    raw = token.group(0)
    listing = run_cli(wh.ws, "token", "list").stdout
    assert "so-tu-phap" in listing and raw not in listing and "01/01/2100" in listing
    conn = db.connect(wh.ws.db_path)
    stored = conn.execute("SELECT token_hash, expires_at FROM api_tokens"
                          " WHERE name = 'so-tu-phap'").fetchone()
    conn.close()
    assert stored[0] == hashlib.sha256(raw.encode()).hexdigest()
    assert stored[1] == "2099-12-31T17:00:00+00:00"  # end of the day in Hà Nội
    for path in wh.ws.root.rglob("*"):  # the token itself is nowhere in the workspace
        if path.is_file() and path.stat().st_size < 50_000_000:
            assert raw.encode() not in path.read_bytes(), path
    with api_client(wh.ws) as c:
        ok = c.get(f"/api/v1/owners/{CHILD}/documents", headers=bearer(raw))
        assert ok.status_code == 200
        run_cli(wh.ws, "token", "revoke", "so-tu-phap")
        gone = c.get(f"/api/v1/owners/{CHILD}/documents", headers=bearer(raw))
        assert_error_body(gone, 401, "token_invalid")
        assert gone.headers["www-authenticate"].startswith("Bearer")
    entries = audit_entries(wh.ws)
    assert [e.action for e in entries if e.subject == "token:so-tu-phap"] == \
        ["token.add", "token.revoke"]


def test_expired_token_is_refused(wh: Warehouse) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=2)
    token = new_token(wh.ws, "short-lived", ["read-warehouse"], expires=soon)
    with api_client(wh.ws) as c:
        assert c.get(f"/api/v1/owners/{CHILD}/documents", headers=bearer(token)).status_code \
            == 200
        time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.5)
        assert_error_body(c.get(f"/api/v1/owners/{CHILD}/documents", headers=bearer(token)),
                          401, "token_invalid")
    with open_context(wh.ws, ADMIN_ACTOR) as ctx, pytest.raises(Exception) as refused:
        tokens.create(ctx, "in-the-past", ["reports"], expires="01/01/2020")
    assert "Ngày hết hạn đã qua" in str(refused.value)


def test_rate_limit_gives_429_with_retry_after(wh: Warehouse) -> None:
    token = new_token(wh.ws, "burst", ["read-warehouse"], rate_per_minute=3)
    other = new_token(wh.ws, "calm", ["read-warehouse"], rate_per_minute=3)
    with api_client(wh.ws) as c:
        codes = [c.get(f"/api/v1/owners/{CHILD}/documents", headers=bearer(token)).status_code
                 for _ in range(3)]
        assert codes == [200, 200, 200]
        limited = c.get(f"/api/v1/owners/{CHILD}/documents", headers=bearer(token))
        assert_error_body(limited, 429, "rate_limited")
        assert 1 <= int(limited.headers["retry-after"]) <= 20
        # The limit is per token: another token is served.
        assert c.get(f"/api/v1/owners/{CHILD}/documents", headers=bearer(other)).status_code \
            == 200


def test_ip_allow_list(wh: Warehouse) -> None:
    token = new_token(wh.ws, "from-province", ["read-warehouse"], allow_ips=["10.1.2.0/24"])
    with serving(wh.ws) as url:
        r = httpx.get(f"{url}/api/v1/owners/{CHILD}/documents", headers=bearer(token))
    assert_error_body(r, 403, "forbidden")
    with open_context(wh.ws, ADMIN_ACTOR) as ctx:
        tokens.create(ctx, "from-here", ["read-warehouse"], allow_ips=["127.0.0.1"])
        assert tokens.list_tokens(ctx)[-1].allow_ips == ("127.0.0.1/32",)


@pytest.mark.quick
def test_allow_list_matches_networks_and_ipv4_mapped_callers() -> None:
    view = tokens.TokenView(1, "t", "mct_abc", ("reports",), ("10.1.2.0/24", "2001:db8::/32"),
                            60, None, "", "", None, None)
    assert view.allows_address("10.1.2.7") and view.allows_address("::ffff:10.1.2.7")
    assert view.allows_address("2001:db8::5")
    assert not view.allows_address("10.1.3.1") and not view.allows_address("::1")
    assert not view.allows_address("testclient")  # no address: on no list
    assert tokens.parse_networks(["10.0.0.5, 10.0.0.0/24", "10.0.0.5"]) == \
        ("10.0.0.5/32", "10.0.0.0/24")


def test_only_admin_manages_tokens(wh: Warehouse) -> None:
    make_officers(wh.ws)
    out = run_cli(wh.ws, "--as", "chuyenvien", "token", "add", "x", "--scopes", "reports",
                  check=False)
    assert out.exit_code == 3 and "không có quyền" in out.output
    out = run_cli(wh.ws, "--as", "quantri", "token", "add", "x", "--scopes", "reports",
                  "--json")
    made = out.json()
    assert made["view"]["created_by"] == "Nguyễn Thị Quản (quantri)"
    out = run_cli(wh.ws, "token", "add", "y", "--scopes", "everything", check=False)
    assert out.exit_code == 1 and "read-warehouse" in out.output


# ---- the API's permission matrix, from the served description --------------------------------


def _sample_path(path: str, wh: Warehouse) -> str:
    values = {"owner_id": CHILD, "document_id": str(wh.birth_certificate),
              "code": wh.birth_dossier, "result_code": wh.result_code}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def test_every_operation_refuses_missing_unknown_and_wrong_scope_tokens(wh: Warehouse
                                                                         ) -> None:
    tokens_by_scope = {s.value: new_token(wh.ws, f"only-{s.value}", [s.value]) for s in Scope}
    with serving(wh.ws) as url, httpx.Client(base_url=url + "/api/v1", timeout=30) as api:
        spec = api.get("/openapi.json").json()
        operations = [(path, method, op) for path, ops in spec["paths"].items()
                      for method, op in ops.items()]
        assert len(operations) == len(ENDPOINTS)
        for path, method, op in operations:
            target = _sample_path(path, wh)
            needed = op["tags"][0]
            assert op["security"] == [{"token": []}]

            def call(headers: dict[str, str], target: str = target,
                     method: str = method) -> httpx.Response:
                return api.request(method.upper(), target, headers=headers, json={}) \
                    if method == "post" else api.get(target, headers=headers)

            assert_error_body(call({}), 401, "token_invalid")
            assert_error_body(call(bearer("mct_" + "x" * 43)), 401, "token_invalid")
            assert_error_body(call({"authorization": "Basic YTpi"}), 401, "token_invalid")
            for scope, token in tokens_by_scope.items():
                r = call(bearer(token))
                if scope == needed:
                    assert r.status_code not in (401, 403), (path, method, scope, r.text)
                else:
                    assert_error_body(r, 403, "scope_missing")


def test_openapi_is_generated_from_the_declarations(wh: Warehouse) -> None:
    spec = openapi_document(wh.ws)
    assert spec["openapi"] == "3.1.0"
    status = spec["components"]["schemas"]["DossierStatus"]
    assert status["properties"]["due_date"] == {"type": ["string", "null"], "format": "date",
                                                "description": "Ngày hẹn trả kết quả."}
    assert set(status["required"]) == set(status["properties"])
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "message", "detail"]
    receive = spec["paths"]["/dossiers"]["post"]
    assert receive["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DossierStatus"}
    body = spec["components"]["schemas"]["ReceiveRequest"]
    assert body["required"] == ["procedure_code", "owner_id"]
    assert body["additionalProperties"] is False
    assert "Retry-After" in receive["responses"]["429"]["headers"]
    # Every component is a valid JSON Schema of the dialect OpenAPI 3.1 uses.
    from jsonschema import Draft202012Validator

    for schema in spec["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    for ops in spec["paths"].values():
        for op in ops.values():
            for p in op["parameters"]:
                Draft202012Validator.check_schema(p["schema"])
                assert p["description"]


# ---- schemathesis against `motcua serve` ----------------------------------------------------


SCHEMATHESIS = shutil.which("schemathesis", path=str(Path(sys.executable).parent))


@pytest.fixture
def fuzz_ws(tmp_path: Path) -> Iterator[Warehouse]:
    yield build_warehouse(tmp_path)


@pytest.mark.skipif(SCHEMATHESIS is None, reason="schemathesis is a dev dependency")
def test_schemathesis_against_motcua_serve(fuzz_ws: Warehouse, tmp_path: Path) -> None:
    """No 5xx, every response (status, content type, headers, body) as described, invalid
    input refused, and authentication never ignored, over every operation."""
    assert SCHEMATHESIS is not None
    token = new_token(fuzz_ws.ws, "fuzzer", ALL_SCOPES, rate_per_minute=100_000)
    report = tmp_path / "report"
    with serving(fuzz_ws.ws) as url:
        proc = subprocess.run(
            [SCHEMATHESIS, "run", f"{url}/api/v1/openapi.json", "--url", f"{url}/api/v1",
             "-H", f"Authorization: Bearer {token}",
             "--checks", "not_a_server_error,status_code_conformance,"
             "content_type_conformance,response_schema_conformance,"
             "response_headers_conformance,negative_data_rejection,ignored_auth",
             "--phases", "examples,coverage,fuzzing", "--max-examples", "25",
             "--workers", "1", "--seed", "16", "--request-timeout", "30",
             "--report", "junit", "--report-dir", str(report), "--no-color"],
            capture_output=True, text=True, timeout=900, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    tested = re.search(r"Tested: (\d+)", out)
    assert tested and int(tested.group(1)) == len(ENDPOINTS), out[-3000:]
    assert re.search(r"(\d+) generated", out) and \
        int(re.search(r"(\d+) generated", out).group(1)) > 100, out[-3000:]  # type: ignore[union-attr]
    # Every call the fuzzer made with the token is on the audit log under its name.
    calls = [e for e in audit_entries(fuzz_ws.ws) if e.action == "api.call"]
    assert calls and {e.actor for e in calls} == {"API (token:fuzzer)"}
    assert json.loads(json.dumps(calls[0].details))["endpoint"]


def test_bad_bodies_are_refused_in_vietnamese_and_nothing_changes(wh: Warehouse) -> None:
    token = new_token(wh.ws, "writer", ["write-dossiers"])

    def dossiers() -> int:
        conn = db.connect(wh.ws.db_path)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM dossiers").fetchone()[0])
        finally:
            conn.close()

    before = dossiers()
    with api_client(wh.ws) as c:
        h = bearer(token)
        assert_error_body(c.post("/api/v1/dossiers", headers=h, content=b"{not json"),
                          400, "bad_body")
        assert_error_body(c.post("/api/v1/dossiers", headers=h,
                                 content=b'{"a": "' + b"x" * 70_000 + b'"}'), 413, "too_large")
        assert_error_body(c.post("/api/v1/dossiers", headers=h, json={
            "procedure_code": "1.004873", "owner_id": CHILD, "extra": 1}), 400, "bad_body")
        assert_error_body(c.post("/api/v1/dossiers", headers=h, json={
            "procedure_code": "1.004873", "owner_id": CHILD, "channel": "fax"}),
            400, "bad_parameter")
        unknown = c.post("/api/v1/dossiers", headers=h, json={
            "procedure_code": "1.004873", "owner_id": "079190000123"})
        assert_error_body(unknown, 400, "owner_unknown")
        wrong = c.post("/api/v1/dossiers", headers=h, json={
            "procedure_code": "9.999999", "owner_id": CHILD})
        assert_error_body(wrong, 400, "rejected")
        future = c.post("/api/v1/dossiers", headers=h, json={
            "procedure_code": "1.004873", "owner_id": CHILD,
            "received_at": "2099-01-01T08:00:00+07:00"})
        assert_error_body(future, 400, "bad_parameter")
        naive = c.post("/api/v1/dossiers", headers=h, json={
            "procedure_code": "1.004873", "owner_id": CHILD,
            "received_at": "2026-01-01T08:00:00"})
        assert_error_body(naive, 400, "bad_parameter")
        assert dossiers() == before
        # A new owner comes with a name; the reuse of another owner's document is refused.
        made = c.post("/api/v1/dossiers", headers=h, json={
            "procedure_code": "1.004873", "owner_id": "079190000123",
            "owner_name": "Trần Thị Bình"})
        assert made.status_code == 201, made.text
        other = c.post(f"/api/v1/dossiers/{made.json()['code']}/reuses", headers=h,
                       json={"document_id": wh.birth_certificate})
        assert_error_body(other, 400, "rejected")
        assert "không thể tái sử dụng" in other.json()["message"]
