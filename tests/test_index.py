"""The search index: one suite run against both engines (tantivy and whoosh).

The unit is a document (page texts + warehouse fields); see tests/test_search.py for
the relevance test over a generated warehouse.
"""

from __future__ import annotations

import datetime
import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from motcua.errors import TransientError, UserError
from motcua.index import (
    DocEntry,
    Hit,
    OwnerRef,
    SearchEngine,
    SearchFilters,
    fold_diacritics,
    normalize_text,
    open_engine,
)
from motcua.index.memory_engine import MemoryEngine
from motcua.index.normalize import code_key, name_keys, tone_variants
from motcua.index.query import EXACT_TIER, VARIANT_TIER, plan_query

KINDS = ("tantivy", "whoosh")
DAY = datetime.date(2025, 7, 16)
DOSSIER_A = "000.00.07.H47-250716-0001"
DOSSIER_B = "000.00.07.H47-250716-0002"
CCCD = "030185001234"
MST = "0101234567"
MST_BRANCH = "0101234567-001"


def doc(
    document_id: int,
    *texts: str,
    date: datetime.date = DAY,
    dossier: str | None = None,
    owners: tuple[str, ...] = (),
    procedure: str | None = None,
    doc_type: str | None = None,
    **fields: str,
) -> DocEntry:
    return DocEntry(
        document_id=document_id,
        original_name=f"scan-{document_id}.pdf",
        date=date,
        pages=tuple(enumerate(texts, start=1)),
        dossier_code=dossier,
        owners=tuple(OwnerRef(o) for o in owners),
        procedure_codes=(procedure,) if procedure else (),
        type_code=doc_type,
        **fields,  # type: ignore[arg-type]
    )


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


CORPUS = [
    doc(
        1,
        "ỦY BAN NHÂN DÂN XÃ ĐA LỘC\nQuyết định số 118⁄2025⁄NĐ-CP về việc số hóa hồ sơ điện tử.",
        dossier=DOSSIER_A,
        owners=(CCCD,),
        procedure="1.001612",
        doc_type="QĐ",
        date=datetime.date(2025, 7, 1),
    ),
    doc(
        2,
        "Biên bản: quyết dinh tiếp nhận hồ sơ; hồ sơ giấy, điện thoại và tử sách lưu.",
        dossier=DOSSIER_B,
        owners=(MST_BRANCH, CCCD),
        procedure="2.000794",
        doc_type="BB",
        date=datetime.date(2025, 7, 15),
    ),
    doc(
        3,
        "quyet dinh cap giay chung nhan cho ho kinh doanh, MST " + MST,
        owners=(MST,),
        date=datetime.date(2025, 7, 31),
    ),
    # Decomposed marks, as Tesseract and some PDFs emit them.
    doc(4, nfd("Thôn Tân Lộc, xã Hoà Bình: công trình thuỷ lợi, sức khoẻ cộng đồng.")),
    doc(5, "Ông Nguyễn Văn Hòa, Thủy sản, khỏe mạnh. Số định danh cá nhân " + CCCD),
    doc(6, "Đề nghị của Tổ chức có mã số thuế " + MST_BRANCH + " về bộ phận một cửa."),
]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=(*KINDS, "memory"))
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchEngine]:
    # The in-memory engine (pending documents, see memory_engine) passes the same suite.
    eng: SearchEngine = (MemoryEngine() if request.param == "memory"
                         else open_engine(tmp_path / "index", str(request.param)))
    for entry in CORPUS:
        eng.replace_document(entry)
    eng.commit()
    yield eng
    eng.close()


def ids(hits: list[Hit]) -> list[int]:
    return [h.document_id for h in hits]


# -- normalisation -----------------------------------------------------------


def test_normalize_nfc_and_slash() -> None:
    assert normalize_text(nfd("lộc")) == "lộc"
    assert len(normalize_text(nfd("lộc"))) == 3
    assert normalize_text("118⁄2025⁄NĐ-CP") == "118/2025/NĐ-CP"


@pytest.mark.parametrize(
    ("old", "new"),
    [("hoà", "hòa"), ("thuỷ", "thủy"), ("khoẻ", "khỏe"), ("HOÀ", "HÒA"), ("Thuý", "Thúy")],
)
def test_tone_placements_unify(old: str, new: str) -> None:
    assert normalize_text(old) == normalize_text(new)
    assert normalize_text(nfd(old)) == normalize_text(new)


@pytest.mark.parametrize("word", ["quỹ", "quý", "hoàng", "ngoài", "khuỷu", "tuyển", "hoạch"])
def test_tone_placement_leaves_other_words(word: str) -> None:
    assert normalize_text(word) == word


def test_fold_diacritics() -> None:
    assert fold_diacritics("Đa Lộc, hồ sơ điện tử") == "Da Loc, ho so dien tu"
    assert fold_diacritics(nfd("Ứng Hoà")) == "Ung Hoa"
    assert fold_diacritics("café ångström") == "cafe angstrom"


def test_tone_variants_codes_and_name_keys() -> None:
    assert tone_variants("hòa") == {"hòa", "hoà"} == tone_variants("hoà")
    assert tone_variants("thuỷ") == {"thủy", "thuỷ"}
    assert {normalize_text(v) for v in tone_variants("hoàng")} == {"hoàng"}
    assert tone_variants("quý") == {"quý"}
    assert code_key("07/KH-UBND") == code_key("7/kh-ubnd") == code_key("07 / KH - UBND")
    assert code_key("118/2025/NĐ-CP") == code_key("118⁄2025⁄nd-cp")
    assert code_key("0101234567-001") != code_key("0101234567")
    literal, canonical, folded = name_keys("Nguyễn  Thị Hoà")
    assert literal == "nguyễn_thị_hoà" and folded == "nguyen_thi_hoa"
    assert name_keys("Nguyễn Thị Hòa")[1] == canonical != literal


@pytest.mark.parametrize(
    "pages",
    [
        ("Hồ sơ điện tử, ĐA LỘC: 118/2025", "tiếp nhận_hồ sơ"),
        ("", "một", ""),
        # Pages whose folding moves offsets (a ligature, a dotted capital I, a stray
        # mark): folded page by page, their words still paired with the others'.
        ("ﬁle số hóa", "İstanbul và Hà Nội", "ß straße x\u0301y"),
    ],
)
def test_indexed_word_pairs_and_twins(pages: tuple[str, ...]) -> None:
    """The array-built entry agrees with the plain definitions: pairs of every folded
    word in page order, across pages, and each page's folded twin when it has one."""
    from motcua.index.normalize import clean_text, tokens
    from motcua.index.query import _unblob, folded_twin, pairs, to_indexed

    indexed = to_indexed(doc(7, *pages))
    words = []
    for page in pages:
        text = clean_text(page)
        twin = folded_twin(text)
        words += ([w for w in re.split(r"[^a-z0-9]+", twin) if w] if twin is not None
                  else [fold_diacritics(t) for t in tokens(text)])
    assert indexed.text_pairs == " ".join(pairs(words))
    # The folded field is given the folded words: both engines make the same terms of
    # them as of the page text itself (a page with rare characters is tokenised as a
    # query is, by normalize.tokens).
    from motcua.index import tantivy_engine, whoosh_engine

    tantivy_folded = tantivy_engine._analyzer(folded=True)
    whoosh_folded = whoosh_engine._analyzer(folded=True)
    assert [t.text for t in whoosh_folded(indexed.text_folded)] == words
    if all(folded_twin(clean_text(page)) is not None for page in pages):
        assert [t.text for t in whoosh_folded(indexed.text)] == words
        assert (tantivy_folded.analyze(indexed.text_folded)
                == tantivy_folded.analyze(indexed.text) == words)
    _, stored = _unblob(indexed.stored)
    assert [(no, raw.decode(), twin) for no, raw, twin in stored] == [
        (no, clean_text(page), folded_twin(clean_text(page)) or "")
        for no, page in enumerate(pages, start=1)]


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("030185001234", "citizen_id"),
        ("0101234567", "tax_code"),
        ("0101234567-001", "tax_code"),
        (DOSSIER_A, "dossier_code"),
        (DOSSIER_A + "-KQ2", "result_code"),
        ("118/2025/NĐ-CP", "document_number"),
        ("Số 07/KH-UBND", "document_number"),
        ("12/UBND-VX", "document_number"),
        ("Nguyễn Thị Hoa", "text"),
        ("hồ sơ 2025", "text"),
    ],
)
def test_query_kinds(query: str, kind: str) -> None:
    plan = plan_query(query)
    assert plan.kind == kind
    assert (plan.key is not None) == (kind != "text")


# -- searching ---------------------------------------------------------------


def test_diacritic_and_case_insensitive(engine: SearchEngine) -> None:
    assert set(ids(engine.search("ho so"))) == {1, 2}
    assert ids(engine.search("da loc")) == [1]
    assert ids(engine.search("ĐA LỘC")) == [1]
    assert ids(engine.search("DA LOC")) == [1]


def test_exact_diacritics_rank_first(engine: SearchEngine) -> None:
    hits = engine.search("quyết định")
    assert ids(hits) == [1, 2, 3]  # both exact, one exact, none exact
    assert hits[0].score > hits[1].score > hits[2].score
    assert hits[0].score >= 2 * EXACT_TIER


def test_query_without_diacritics_ranks_by_folded_match_only(engine: SearchEngine) -> None:
    hits = engine.search("quyet dinh")
    assert set(ids(hits)) == {1, 2, 3}
    assert all(h.score < EXACT_TIER for h in hits)


def test_decomposed_text_and_query(engine: SearchEngine) -> None:
    assert 4 in ids(engine.search("Tân Lộc"))
    hits = engine.search(nfd("Tân Lộc"))
    assert ids(hits)[0] == 4
    assert hits[0].score >= 2 * EXACT_TIER


@pytest.mark.parametrize(
    ("query", "expected"),
    [("hòa", [4, 5]), ("hoà", [4, 5]), ("thủy", [4, 5]), ("thuỷ", [4, 5]), ("khỏe", [4, 5])],
)
def test_tone_placement_variants_match_exactly(
    engine: SearchEngine, query: str, expected: list[int]
) -> None:
    hits = engine.search(query)
    exact = [h for h in hits if h.score >= VARIANT_TIER]
    assert sorted(ids(exact)) == expected
    assert hits[: len(exact)] == exact  # ahead of folded-only pages ("số hóa" for "hòa")


def test_fraction_slash_is_a_slash(engine: SearchEngine) -> None:
    assert ids(engine.search("118/2025/NĐ-CP")) == [1]
    assert ids(engine.search("118⁄2025⁄NĐ-CP")) == [1]
    assert ids(engine.search("118/2025/nd-cp")) == [1]
    assert engine.search("118/2024/NĐ-CP") == []


def test_phrase_query(engine: SearchEngine) -> None:
    # Page 2 has every word but not the phrase.
    assert ids(engine.search('"hồ sơ điện tử"')) == [1]
    assert ids(engine.search('"ho so dien tu"')) == [1]
    assert set(ids(engine.search("hồ sơ điện tử"))) == {1, 2}
    assert engine.search('"điện tử hồ sơ"') == []


def test_id_queries(engine: SearchEngine) -> None:
    # Linked to the owner by the warehouse first, then found in the text.
    hits = ids(engine.search(CCCD))
    assert sorted(hits[:2]) == [1, 2] and hits[2:] == [5]
    assert ids(engine.search(MST_BRANCH)) == [2, 6]
    # The organisation itself first, then its branch (same first ten digits).
    hits = ids(engine.search(MST))
    assert hits[0] == 3 and sorted(hits) == [2, 3, 6]
    assert ids(engine.search("0101234567-002")) == []


def test_dossier_code_query(kind: str, tmp_path: Path) -> None:
    eng = open_engine(tmp_path / "ix", kind)
    eng.replace_document(doc(1, f"Mã hồ sơ: {DOSSIER_A}. Ngày nhận 16/7/2025."))
    eng.replace_document(doc(2, f"Mã hồ sơ: {DOSSIER_B}."))
    eng.commit()
    assert ids(eng.search(DOSSIER_A)) == [1]
    assert ids(eng.search(DOSSIER_A.lower())) == [1]
    assert sorted(ids(eng.search("000.00.07.H47"))) == [1, 2]
    assert eng.search("000.00.07.H47-250716-0003") == []


def test_filters(engine: SearchEngine) -> None:
    everything = "ho so"
    assert ids(engine.search(everything, SearchFilters(dossier_code=DOSSIER_B))) == [2]
    assert ids(engine.search(everything, SearchFilters(owner_id=MST_BRANCH))) == [2]
    assert set(ids(engine.search(everything, SearchFilters(owner_id=CCCD)))) == {1, 2}
    assert ids(engine.search(everything, SearchFilters(procedure_code="1.001612"))) == [1]
    assert ids(engine.search(everything, SearchFilters(doc_type="BB"))) == [2]
    assert engine.search(everything, SearchFilters(doc_type="KH")) == []


def test_excluded_documents_are_left_out(engine: SearchEngine) -> None:
    """What a pending document's out-of-date entry gets (archive.indexing.search)."""
    everything = "ho so"
    assert set(ids(engine.search(everything))) >= {1, 2}
    assert 2 not in ids(engine.search(everything, exclude={2, 99}))
    assert 1 in ids(engine.search(everything, exclude={2, 99}))
    assert ids(engine.search("", SearchFilters(owner_id=CCCD), exclude=[1])) == [2]
    assert engine.doc_freq("text_f", "ho") >= 2 and engine.doc_freq("text_f", "zzz") == 0


def test_date_filter_is_inclusive(engine: SearchEngine) -> None:
    def between(a: datetime.date | None, b: datetime.date | None) -> list[int]:
        hits = engine.search("quyet dinh", SearchFilters(date_from=a, date_to=b))
        return sorted(ids(hits))

    d = datetime.date
    assert between(d(2025, 7, 1), d(2025, 7, 15)) == [1, 2]
    assert between(d(2025, 7, 2), None) == [2, 3]
    assert between(None, d(2025, 7, 14)) == [1]
    assert between(d(2025, 7, 31), d(2025, 7, 31)) == [3]
    assert between(d(2025, 8, 1), None) == []


def test_filters_without_query_words(engine: SearchEngine) -> None:
    assert sorted(ids(engine.search("", SearchFilters(owner_id=CCCD)))) == [1, 2]
    assert engine.search("") == []
    assert engine.search("   ,; ") == []


def test_hit_fields_and_snippet(engine: SearchEngine) -> None:
    (hit,) = engine.search("quyết định", SearchFilters(dossier_code=DOSSIER_A))
    assert (hit.document_id, hit.best_page, hit.matching_pages) == (1, 1, 1)
    assert hit.matched_fields == ("text",)
    assert hit.dossier_code == DOSSIER_A
    assert hit.original_name == "scan-1.pdf"
    assert [s for s, matched in hit.snippet if matched] == ["Quyết", "định"]
    assert "«Quyết» «định» số 118/2025/NĐ-CP" in hit.snippet_text()
    assert "<b>Quyết</b>" in hit.snippet_text("<b>", "</b>")


def test_snippet_marks_folded_matches_and_whole_phrases(engine: SearchEngine) -> None:
    (hit,) = engine.search("da loc")
    assert [s for s, m in hit.snippet if m] == ["ĐA", "LỘC"]
    (hit,) = engine.search('"hồ sơ điện tử"')
    # "số" folds to "so" too, but is not part of the phrase.
    assert [s for s, m in hit.snippet if m] == ["hồ", "sơ", "điện", "tử"]


def test_snippet_is_centred_on_the_match(kind: str, tmp_path: Path) -> None:
    eng = open_engine(tmp_path / "ix", kind)
    text = "mở đầu " * 200 + "giấy chứng nhận quyền sử dụng đất" + " kết thúc" * 200
    eng.replace_document(doc(1, text))
    eng.commit()
    (hit,) = eng.search("quyền sử dụng")
    snippet = hit.snippet_text()
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "«quyền» «sử» «dụng» đất" in snippet
    assert len(snippet) < 260


# -- writing and visibility --------------------------------------------------


def test_replace_and_delete(kind: str, tmp_path: Path) -> None:
    eng = open_engine(tmp_path / "ix", kind)
    eng.replace_document(doc(7, "bản cũ", "bản cũ trang hai"))
    eng.commit()
    assert eng.count() == 1
    (hit,) = eng.search("cũ")
    assert (hit.best_page, hit.matching_pages, hit.page_count) == (1, 2, 2)
    assert eng.search('"trang hai"')[0].best_page == 2
    eng.replace_document(doc(7, "bản mới"))
    eng.commit()
    assert eng.count() == 1
    assert eng.search("cũ") == []
    assert [(h.document_id, h.best_page) for h in eng.search("mới")] == [(7, 1)]
    eng.delete_document(7)
    eng.commit()
    assert eng.count() == 0
    assert eng.search("mới") == []


def test_settle_after_a_bulk_load_keeps_every_document_once(
        kind: str, tmp_path: Path) -> None:
    eng = open_engine(tmp_path / "ix", kind, rebuild=True)
    for n in range(1, 13):  # a commit every 3 documents: 4 segments in tantivy
        eng.replace_document(doc(n, f"trang số {n} của hồ sơ lưu trữ"))
        if n % 3 == 0:
            eng.commit()
    eng.settle()
    assert eng.count() == 12
    assert sorted(ids(eng.search("lưu trữ", limit=50))) == list(range(1, 13))
    if kind == "tantivy":
        # The segments the load left were merged now, not by a later small update.
        assert eng._segments() == 1  # type: ignore[attr-defined]
    eng.close()


def test_replace_twice_before_commit_keeps_the_last(kind: str, tmp_path: Path) -> None:
    eng = open_engine(tmp_path / "ix", kind)
    eng.replace_document(doc(1, "lần một"))
    eng.replace_document(doc(1, "lần hai", "lần hai tiếp"))
    eng.commit()
    assert eng.count() == 1
    assert eng.search("một") == []
    (hit,) = eng.search("hai")
    assert (hit.matching_pages, hit.page_count) == (2, 2)


def test_changes_visible_to_another_instance_only_after_commit(kind: str, tmp_path: Path) -> None:
    writer = open_engine(tmp_path / "ix", kind)
    reader = open_engine(tmp_path / "ix", kind)  # opened before the write, like a web page
    assert reader.count() == 0
    writer.replace_document(doc(1, "hồ sơ mới"))
    assert reader.count() == 0
    assert reader.search("ho so") == []
    writer.commit()
    assert reader.count() == 1
    assert ids(reader.search("ho so")) == [1]
    writer.delete_document(1)
    writer.commit()
    assert reader.search("ho so") == []
    writer.close()
    reader.close()


def test_visible_to_another_process(kind: str, tmp_path: Path) -> None:
    reader = open_engine(tmp_path / "ix", kind)
    assert reader.count() == 0
    script = (
        "import datetime, sys; from pathlib import Path;"
        "from motcua.index import DocEntry, open_engine;"
        "e = open_engine(Path(sys.argv[1]), sys.argv[2]);"
        "e.replace_document(DocEntry(9, 'x.pdf', datetime.date(2025, 1, 2), ((1, 'Đa Lộc'),)));"
        "e.commit(); e.close()"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "ix"), kind], check=True)
    assert ids(reader.search("da loc")) == [9]


def test_reader_not_blocked_by_an_open_writer(kind: str, tmp_path: Path) -> None:
    writer = open_engine(tmp_path / "ix", kind)
    writer.replace_document(doc(1, "đang ghi"))
    reader = open_engine(tmp_path / "ix", kind)
    assert reader.search("dang ghi") == []
    assert reader.count() == 0
    writer.commit()
    assert reader.count() == 1


def test_second_writer_waits_then_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from motcua.index import tantivy_engine

    monkeypatch.setattr(tantivy_engine, "LOCK_WAIT_S", 0.3)
    first = open_engine(tmp_path / "ix", "tantivy")
    first.replace_document(doc(1, "một"))  # holds the writer lock
    second = open_engine(tmp_path / "ix", "tantivy")
    with pytest.raises(TransientError) as err:
        second.replace_document(doc(2, "hai"))
    assert "tiến trình khác" in err.value.message
    first.commit()  # releases the lock
    second.replace_document(doc(2, "hai"))
    second.commit()
    assert first.count() == 2


def test_clear_and_count(engine: SearchEngine) -> None:
    assert engine.count() == len(CORPUS)
    engine.clear()
    assert engine.count() == len(CORPUS)  # staged until commit
    engine.replace_document(doc(1, "sau khi xóa"))
    engine.commit()
    assert engine.count() == 1
    assert engine.search("ho so") == []
    assert ids(engine.search("sau khi xoa")) == [1]


def test_close_discards_uncommitted(kind: str, tmp_path: Path) -> None:
    eng = open_engine(tmp_path / "ix", kind)
    eng.replace_document(doc(1, "chưa lưu"))
    eng.close()
    again = open_engine(tmp_path / "ix", kind)
    assert again.count() == 0
    again.replace_document(doc(1, "đã lưu"))  # the lock was released
    again.commit()
    assert again.count() == 1


# -- damaged or foreign indexes ----------------------------------------------


def test_damaged_index_points_at_reindex(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "ix"
    eng = open_engine(path, kind)
    eng.replace_document(doc(1, "hồ sơ"))
    eng.commit()
    eng.close()
    for f in path.iterdir():
        if f.name != "motcua-index.json":
            f.write_bytes(b"\0garbage")
    with pytest.raises(UserError) as err:
        broken = open_engine(path, kind)
        broken.search("ho so")
    assert "motcua reindex" in err.value.message
    assert kind in err.value.detail
    fresh = open_engine(path, kind, rebuild=True)
    assert fresh.count() == 0


def test_index_made_by_the_other_engine(tmp_path: Path) -> None:
    open_engine(tmp_path / "ix", "tantivy").close()
    with pytest.raises(UserError) as err:
        open_engine(tmp_path / "ix", "whoosh")
    assert "motcua reindex" in err.value.message


def test_not_an_index(tmp_path: Path) -> None:
    (tmp_path / "ix").mkdir()
    (tmp_path / "ix" / "notes.txt").write_text("x")
    with pytest.raises(UserError):
        open_engine(tmp_path / "ix", "tantivy")
    (tmp_path / "ix" / "sub").mkdir()
    with pytest.raises(UserError):  # refuses to wipe a folder that holds folders
        open_engine(tmp_path / "ix", "tantivy", rebuild=True)
    assert (tmp_path / "ix" / "notes.txt").exists()


def test_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(UserError):
        open_engine(tmp_path / "ix", "lucene")
