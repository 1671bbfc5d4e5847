"""Finding citizens and papers: relevance over a generated warehouse (both engines), the
search service, and the index following the warehouse (metadata, owner name, reuse)."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from motcua import db
from motcua.archive.catalogue import load_catalogue
from motcua.archive.indexing import rebuild
from motcua.cli import main
from motcua.index import SearchEngine, SearchFilters, fold_diacritics, open_engine
from motcua.index.memory_engine import MemoryEngine
from motcua.index.normalize import name_keys
from motcua.services import Actor, open_context
from motcua.services.access import ALL_ROLES, Role
from motcua.services.search import search
from motcua.workspace import Workspace, init_workspace
from tests.search_gen import TWINS, Warehouse, generate

KINDS = ("tantivy", "whoosh")
K = 5


@dataclass(frozen=True)
class Built:
    ws: Workspace
    warehouse: Warehouse


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    ws = init_workspace(tmp_path_factory.mktemp("kho"))
    conn = db.connect(ws.db_path)
    with db.transaction(conn):
        warehouse = generate(conn)
    conn.close()
    return Built(ws, warehouse)


@pytest.fixture(scope="module", params=(*KINDS, "memory"))
def engine(request: pytest.FixtureRequest, built: Built,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchEngine]:
    # The in-memory engine (pending documents, see memory_engine) passes the same suite.
    eng: SearchEngine = (MemoryEngine() if request.param == "memory" else
                         open_engine(tmp_path_factory.mktemp("ix") / "index", str(request.param)))
    conn = db.connect(built.ws.db_path)
    pages = rebuild(conn, eng, type_names=load_catalogue(built.ws).document_types)
    conn.close()
    assert pages > 0
    yield eng
    eng.close()


def ids(hits: list) -> list[int]:  # type: ignore[type-arg]
    return [h.document_id for h in hits]


def name_queries(wh: Warehouse) -> list[tuple[str, set[int]]]:
    """50 names, half typed without diacritics, with the documents that should come
    first: the owner's own (literal name), or, typed without diacritics, those of every
    owner whose name folds the same (the search cannot tell them apart)."""
    rng = random.Random(7)
    people = [o for o in wh.owners if len(o.id) == 12]
    chosen = [o for o in people if o.name in TWINS]
    chosen += rng.sample([o for o in people if o not in chosen], 50 - len(chosen))
    queries: list[tuple[str, set[int]]] = []
    for n, owner in enumerate(chosen):
        if n % 2 == 0 or owner.name != fold_diacritics(owner.name):
            queries.append((owner.name, set(owner.documents)))
        folded = fold_diacritics(owner.name).lower()
        if n % 2 == 1 or owner.name in TWINS:
            same = {d for o in people if fold_diacritics(o.name).lower() == folded
                    for d in o.documents}
            queries.append((folded, same))
    return queries


def test_generated_warehouse_has_the_hard_cases(built: Built) -> None:
    wh = built.warehouse
    assert len(wh.owners) >= 200
    assert all(1 <= len(o.documents) <= 8 for o in wh.owners)
    names = [o.name for o in wh.owners]
    assert len(set(names)) == len(names)
    assert {"Nguyễn Thị Hòa", "Nguyễn Thị Hoà"} <= set(names)
    assert name_keys("Nguyễn Thị Hòa")[1] == name_keys("Nguyễn Thị Hoà")[1]
    assert any(len(o.documents) >= K for o in wh.owners if o.name in TWINS)
    assert any(len(o.documents) < K for o in wh.owners if o.name in TWINS)
    assert wh.results and wh.reused


def test_names_rank_the_owners_documents_first(engine: SearchEngine, built: Built) -> None:
    queries = name_queries(built.warehouse)
    assert len(queries) >= 50
    precisions: list[float] = []
    for query, relevant in queries:
        got = ids(engine.search(query, limit=20))
        assert len(got) == len(set(got)), query  # never a document twice
        top = got[:len(relevant)]
        # Owners with fewer than K documents: all of them first.
        assert set(top) == relevant or len(relevant) > 20, (query, got, relevant)
        if len(relevant) >= K:
            precisions.append(len(set(got[:K]) & relevant) / K)
    assert precisions and sum(precisions) / len(precisions) >= 0.9
    assert min(precisions) == 1.0


@pytest.mark.parametrize(("typed", "owner_name"), [
    ("Nguyễn Thị Hoà", "Nguyễn Thị Hoà"),  # as typed first ...
    ("Nguyễn Thị Hòa", "Nguyễn Thị Hòa"),
    ("Nguyễn Thi Hoa", "Nguyễn Thi Hoa"),
    ("NGUYỄN THỊ HOA", "Nguyễn Thị Hoa"),
])
def test_near_twins_in_order(engine: SearchEngine, built: Built, typed: str,
                             owner_name: str) -> None:
    wh = built.warehouse
    owner = next(o for o in wh.owners if o.name == owner_name)
    got = ids(engine.search(typed, limit=40))
    n = len(owner.documents)
    assert set(got[:n]) == set(owner.documents)
    if "Hoà" in typed or "Hòa" in typed:
        # ... then the other tone placement, before the folded twins.
        other = "Nguyễn Thị Hòa" if "Hoà" in typed else "Nguyễn Thị Hoà"
        twin = next(o for o in wh.owners if o.name == other)
        assert set(got[n:n + len(twin.documents)]) == set(twin.documents)


def code_queries(wh: Warehouse) -> list[tuple[str, int | set[int]]]:
    """50 queries that name one thing: citizen IDs, dossier codes, result codes and
    document numbers (some typed as clerks do: lower case, no leading zero)."""
    rng = random.Random(8)
    out: list[tuple[str, int | set[int]]] = []
    people = [o for o in wh.owners if o.cccd_document]
    for owner in rng.sample(people, 13):
        out.append((owner.id, owner.cccd_document or 0))
    for code in rng.sample([c for c, docs in wh.dossiers.items() if docs], 12):
        out.append((code, set(wh.dossiers[code])))
    for code in rng.sample(sorted(wh.results), 12):
        out.append((code, wh.results[code]))
    for number in rng.sample(sorted(wh.numbers), 13):
        typed = number
        if rng.random() < 0.5:
            typed = fold_diacritics(number).lower().lstrip("0")
        out.append((typed, wh.numbers[number]))
    return out


def test_codes_put_the_right_document_first(engine: SearchEngine, built: Built) -> None:
    queries = code_queries(built.warehouse)
    assert len(queries) == 50
    for query, want in queries:
        got = ids(engine.search(query, limit=20))
        assert len(got) == len(set(got)), query
        if isinstance(want, int):
            assert got and got[0] == want, (query, got[:3], want)
        else:  # a dossier: its own documents first, before those reused into it
            assert set(got[:len(want)]) == want, (query, got, want)


def test_owner_id_finds_linked_documents_not_only_ocr(engine: SearchEngine,
                                                      built: Built) -> None:
    wh = built.warehouse
    for owner in wh.owners[:30]:
        got = ids(engine.search(owner.id, limit=20))
        assert set(got[:len(owner.documents)]) == set(owner.documents), owner.name
        filtered = ids(engine.search("", SearchFilters(owner_id=owner.id), limit=50))
        assert set(owner.documents) <= set(filtered)


def test_dossier_filter_includes_reused_documents(engine: SearchEngine, built: Built) -> None:
    for document_id, dossier in built.warehouse.reused[:10]:
        got = ids(engine.search("", SearchFilters(dossier_code=dossier), limit=50))
        assert document_id in got
        assert set(built.warehouse.dossiers[dossier]) <= set(got)


def test_hits_carry_page_and_fields(engine: SearchEngine, built: Built) -> None:
    owner = next(o for o in built.warehouse.owners if o.name == "Nguyễn Thị Hoa")
    hits = engine.search("Nguyễn Thị Hoa", limit=len(owner.documents))
    for hit in hits:
        assert "owner_name" in hit.matched_fields
        assert 1 <= hit.page_count <= 3 and hit.matching_pages <= hit.page_count
        assert hit.best_page >= 1
    card = engine.search(owner.id, limit=1)[0]
    assert card.document_id == owner.cccd_document
    assert {"number", "owner_id"} <= set(card.matched_fields)
    assert card.fields["type_name"].startswith("Thẻ Căn cước")
    # Page numbers: a phrase only on page 3 of a document.
    two = engine.search("căn cước", limit=5)
    assert two and all("type" in h.matched_fields for h in two)


def test_paging_never_repeats(engine: SearchEngine) -> None:
    first = ids(engine.search("ủy ban nhân dân", limit=10))
    second = ids(engine.search("ủy ban nhân dân", limit=10, offset=10))
    assert len(first) == len(second) == 10 and not set(first) & set(second)


# -- the service and the index following the warehouse --------------------------------


def _actor(*roles: str) -> Actor:
    return Actor("tester", "Người kiểm thử", roles=frozenset(roles))


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Workspace, Warehouse]]:
    """A small warehouse indexed where the CLI and the service look (tantivy)."""
    ws = init_workspace(tmp_path / "kho")
    conn = db.connect(ws.db_path)
    with db.transaction(conn):
        wh = generate(conn, owners=40, seed=3)
    eng = open_engine(ws.index_dir, ws.config.index.engine)
    rebuild(conn, eng, type_names=load_catalogue(ws).document_types)
    eng.close()
    conn.close()
    yield ws, wh


def _cli(ws: Workspace, *args: str) -> str:
    result = CliRunner().invoke(main, ["-w", str(ws.root), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_service_result_and_json(live: tuple[Workspace, Warehouse]) -> None:
    ws, wh = live
    owner = next(o for o in wh.owners if o.cccd_document)
    with open_context(ws, _actor(*ALL_ROLES)) as ctx:
        found = search(ctx, owner.id)
    assert found.kind == "citizen_id" and found.kind_label == "Số định danh cá nhân"
    top = found.documents[0]
    assert top.document_id == owner.cccd_document
    assert top.title.startswith("Thẻ Căn cước") and owner.id in top.title
    data = json.loads(_cli(ws, "search", owner.name, "--json"))
    assert data["kind"] == "name"
    docs = data["documents"]
    assert {d["document_id"] for d in docs[:len(owner.documents)]} == set(owner.documents)
    assert "owner_name" in docs[0]["matched_fields"]
    assert "họ tên chủ sở hữu" in docs[0]["matched_fields_vi"]
    assert docs[0]["owners"][0]["name"] == owner.name
    text = _cli(ws, "search", owner.id)
    assert "Tìm theo: Số định danh cá nhân" in text and "Khớp:" in text


def test_service_checks_permissions_and_masks_ids(live: tuple[Workspace, Warehouse]) -> None:
    from motcua.services.access import AccessDenied

    ws, wh = live
    owner = next(o for o in wh.owners if o.cccd_document)
    with open_context(ws, _actor()) as ctx, pytest.raises(AccessDenied):
        search(ctx, owner.name)
    with open_context(ws, _actor(Role.LEADER)) as ctx:
        found = search(ctx, owner.name)
    shown = found.documents[0].owners[0].id
    assert shown != owner.id and shown[:2] == owner.id[:2] and "*" in shown


def test_metadata_change_is_visible_to_the_next_search(
        live: tuple[Workspace, Warehouse]) -> None:
    ws, wh = live
    doc = wh.owners[5].documents[0]
    assert json.loads(_cli(ws, "search", "giấy phép khai thác yến sào", "--json"))[
        "documents"] == []
    _cli(ws, "doc", "meta", str(doc), "--name", "Giấy phép khai thác yến sào",
         "--number", "15/GP-UBND")
    found = json.loads(_cli(ws, "search", "giay phep khai thac yen sao", "--json"))
    assert [d["document_id"] for d in found["documents"]][:1] == [doc]
    assert "name" in found["documents"][0]["matched_fields"]
    by_number = json.loads(_cli(ws, "search", "15/gp-ubnd", "--json"))
    assert by_number["kind"] == "document_number"
    assert by_number["documents"][0]["document_id"] == doc


def test_owner_rename_and_reuse_update_the_index(live: tuple[Workspace, Warehouse]) -> None:
    ws, wh = live
    owner = wh.owners[6]
    _cli(ws, "owner", "rename", owner.id, "--name", "Trịnh Thị Quỳnh Như")
    found = json.loads(_cli(ws, "search", "Trịnh Thị Quỳnh Như", "--json"))["documents"]
    assert {d["document_id"] for d in found[:len(owner.documents)]} == set(owner.documents)
    assert json.loads(_cli(ws, "search", owner.name, "--json"))["kind"] != "name" or all(
        d["owners"][0]["name"] != owner.name
        for d in json.loads(_cli(ws, "search", owner.name, "--json"))["documents"])

    # Reuse: the document is found under the dossier it was attached to.
    other = next(o for o in wh.owners if len(o.dossiers) > 1 and o.cccd_document
                 and (o.cccd_document, o.dossiers[-1]) not in wh.reused)
    conn: sqlite3.Connection = db.connect(ws.db_path)
    own = conn.execute("SELECT dossier_code FROM documents WHERE id = ?",
                       (other.cccd_document,)).fetchone()[0]
    conn.close()
    target = next(c for c in other.dossiers if c != own)
    before = json.loads(_cli(ws, "search", "", "--dossier", target, "--json"))["documents"]
    assert other.cccd_document not in {d["document_id"] for d in before}
    _cli(ws, "reuse", "attach", str(other.cccd_document), "--dossier", target)
    after = json.loads(_cli(ws, "search", "", "--dossier", target, "--json"))["documents"]
    assert other.cccd_document in {d["document_id"] for d in after}


def test_a_dossier_given_its_owner_brings_its_scans_to_the_owner(
        live: tuple[Workspace, Warehouse]) -> None:
    """A scan filed by its folder under a dossier the counter has not yet registered:
    when `dossier new` completes that dossier, the scan is found by the owner's name."""
    from motcua.archive.indexing import index_documents

    ws, wh = live
    code = "000.00.07.H47-250801-0099"
    conn = db.connect(ws.db_path)
    try:
        with db.transaction(conn):
            conn.execute("INSERT INTO dossiers (code, created_at) VALUES (?, ?)",
                         (code, db.now()))
            conn.execute(
                "INSERT INTO documents (id, sha256, original_name, media_type, size,"
                " original_path, page_count, dossier_code, dossier_source, state,"
                " ingested_at, updated_at) VALUES (9999, ?, 'don.pdf', 'application/pdf',"
                " 1, 'store/x.pdf', 1, ?, 'folder', 'archived', ?, ?)",
                ("f" * 64, code, db.now(), db.now()))
            conn.execute("INSERT INTO pages (document_id, page_no, text, confidence,"
                         " ocr_done) VALUES (9999, 1, 'Đơn đề nghị cấp bản sao', 90, 1)")
        assert index_documents(ws, conn, [9999]) == 1
    finally:
        conn.close()
    owner = wh.owners[7]

    def found() -> list[int]:
        data = json.loads(_cli(ws, "search", owner.name, "--limit", "50", "--json"))
        return [d["document_id"] for d in data["documents"]]

    assert 9999 not in found()
    _cli(ws, "dossier", "new", "--procedure", "1.001193", "--owner", owner.id, "--code", code)
    assert 9999 in found()[:len(owner.documents) + 1]


def test_the_box_names_the_people_it_found(live: tuple[Workspace, Warehouse]) -> None:
    """An ID or a full name also finds the owner, with their dossiers and documents, even
    before any document of theirs is scanned; a leader sees the ID masked and no link."""
    ws, wh = live
    owner = next(o for o in wh.owners if o.documents)
    cli_args = ["owner", "add", "079090001111", "--name", "Hoàng Thị Lụa"]
    _cli(ws, *cli_args)
    _cli(ws, "dossier", "new", "-p", "1.001193", "-o", "079090001111")
    with open_context(ws, _actor(*ALL_ROLES)) as ctx:
        by_id = search(ctx, "079090001111")
        by_name = search(ctx, "hoang thi lua")
        theirs = search(ctx, owner.name)
        page_two = search(ctx, owner.name, offset=20)
        words = search(ctx, "ho so")
    assert [(p.name, p.dossiers, p.documents, p.link_id) for p in by_id.people] == [
        ("Hoàng Thị Lụa", 1, 0, "079090001111")]
    assert by_id.documents == () and by_name.people == by_id.people
    # the owner first; near-twins of the same letters after (Hoa, Hòa, Hoà…)
    assert theirs.people[0].link_id == owner.id
    assert theirs.people[0].documents >= len(owner.documents)
    assert {name_keys(p.name)[2] for p in theirs.people} == {name_keys(owner.name)[2]}
    assert page_two.people == () and words.people == ()
    with open_context(ws, _actor(Role.LEADER)) as ctx:
        masked = search(ctx, "079090001111").people[0]
    assert masked.link_id is None and "*" in masked.id
    shown = _cli(ws, "search", "079090001111")
    assert "Chủ hồ sơ: Hoàng Thị Lụa (Công dân, 079090001111) — 1 hồ sơ, 0 tài liệu" in shown
    assert "Không có tài liệu nào khớp." in shown
    from tests.web_kit import client_for, make_officers

    make_officers(ws)
    with client_for(ws, "chuyenvien") as web:
        page = web.get("/", params={"q": "hoang thi lua"}).text
    assert 'href="/owners/079090001111">Hoàng Thị Lụa</a>' in page
    assert "1 hồ sơ, 0 tài liệu" in page and "Không có tài liệu nào khớp" in page
    with client_for(ws, "lanhdao") as web:
        page = web.get("/", params={"q": "079090001111"}).text
    people = page.split('id="chu-ho-so"', 1)[1].split("</ul>", 1)[0]
    assert "Hoàng Thị Lụa" in people and "079090001111" not in people
    assert "/owners/" not in people


# -- pending documents: changed at the counter, not yet committed to the index ---------


def _pending(ws: Workspace) -> list[int]:
    conn = db.connect(ws.db_path)
    try:
        return [r[0] for r in conn.execute("SELECT document_id FROM index_pending")]
    finally:
        conn.close()


def test_a_change_is_found_before_the_index_commits_it(
        live: tuple[Workspace, Warehouse]) -> None:
    """`doc meta` records the document as pending instead of committing the index: the
    service finds it by its new fields (and no longer by the old) at once, the index on
    disk catches up when the pending documents are flushed."""
    from motcua.archive.indexing import flush_pending

    ws, wh = live
    doc = wh.owners[5].documents[0]
    _cli(ws, "doc", "meta", str(doc), "--number", "15/GP-UBND")
    assert _pending(ws) == [doc]
    eng = open_engine(ws.index_dir, ws.config.index.engine)
    try:
        assert doc not in ids(eng.search("15/gp-ubnd"))  # the disk index is behind
        first = json.loads(_cli(ws, "search", "15/gp-ubnd", "--json"))["documents"][0]
        assert first["document_id"] == doc and "number" in first["matched_fields"]

        _cli(ws, "doc", "meta", str(doc), "--number", "16/GP-UBND")
        assert doc not in {d["document_id"] for d in json.loads(
            _cli(ws, "search", "15/gp-ubnd", "--json"))["documents"]}
        conn = db.connect(ws.db_path)
        try:
            assert flush_pending(ws, conn) == 1
        finally:
            conn.close()
        assert _pending(ws) == []
        assert ids(eng.search("16/gp-ubnd"))[:1] == [doc]
        assert doc not in ids(eng.search("15/gp-ubnd"))
    finally:
        eng.close()


def test_pending_documents_rank_as_if_committed(live: tuple[Workspace, Warehouse]) -> None:
    """Every third document pending, unchanged: each query finds the same documents with
    the same scores (BM25 estimated in memory from the index's statistics) as when none
    is pending."""
    from motcua.archive import indexing

    ws, wh = live
    conn = db.connect(ws.db_path)
    eng = open_engine(ws.index_dir, ws.config.index.engine)
    try:
        every = [r[0] for r in conn.execute("SELECT id FROM documents ORDER BY id")]
        queries = ([o.name for o in wh.owners[:8]] + [fold_diacritics(wh.owners[8].name)]
                   + [o.id for o in wh.owners[:4]] + list(wh.numbers)[:3]
                   + ["giấy", "hồ sơ", '"chứng nhận quyền"', "ubnd", "hòa", "Hoà"])
        before = {q: {h.document_id: h.score for h in eng.search(q, limit=500)}
                  for q in queries}
        pending = every[::3]
        with db.transaction(conn):
            conn.executemany("INSERT INTO index_pending (document_id, queued_at)"
                             " VALUES (?, ?)", [(d, db.now()) for d in pending])
        for q in queries:
            hits = indexing.search(ws, conn, eng, q, limit=500)
            assert len(hits) == len({h.document_id for h in hits}), q
            after = {h.document_id: h.score for h in hits}
            assert after.keys() == before[q].keys(), q
            for d in pending:
                if d in after:
                    assert abs(after[d] - before[q][d]) < 1.0, (q, d)
            scores = [h.score for h in hits]
            assert scores == sorted(scores, reverse=True)
            page = indexing.search(ws, conn, eng, q, limit=5, offset=5)
            assert [h.score for h in page] == scores[5:10], q
    finally:
        eng.close()
        conn.close()


def test_pending_documents_are_flushed_in_bulk_by_reindex_and_by_the_watcher(
        live: tuple[Workspace, Warehouse]) -> None:
    from motcua.archive import indexing

    ws, _ = live
    conn = db.connect(ws.db_path)
    try:
        every = [r[0] for r in conn.execute("SELECT id FROM documents ORDER BY id")]
        assert len(every) > indexing.PENDING_FLUSH_AT
        # Below the threshold they wait; the change that reaches it commits them all.
        assert indexing.refresh_documents(ws, conn, every[:3]) == 3
        assert indexing.pending_count(conn) == 3
        assert indexing.refresh_documents(
            ws, conn, every[3:indexing.PENDING_FLUSH_AT]) == indexing.PENDING_FLUSH_AT - 3
        assert indexing.pending_count(conn) == 0

        indexing.refresh_documents(ws, conn, every[:2])
        _cli(ws, "reindex")
        assert indexing.pending_count(conn) == 0

        # Inside a caller's transaction the change is recorded with it, never committed
        # to the index there (that would need a transaction of its own).
        with db.transaction(conn):
            indexing.refresh_documents(ws, conn, every[:indexing.PENDING_FLUSH_AT + 1])
        assert indexing.pending_count(conn) == indexing.PENDING_FLUSH_AT + 1
        assert indexing.flush_pending(ws, conn) == indexing.PENDING_FLUSH_AT + 1

        indexing.refresh_documents(ws, conn, every[:2])
    finally:
        conn.close()
    _cli(ws, "watch", "--until-idle")
    assert _pending(ws) == []
