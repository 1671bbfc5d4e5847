"""A generated warehouse for search tests: owners with realistic Vietnamese names
(near-twins included), their dossiers, documents, metadata, results and reuses, written
straight into a workspace's SQLite database (no OCR: page texts are generated)."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass, field

from motcua import db

SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
            "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý")
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Ngọc", "Thanh", "Hữu", "Quốc", "Thu", "Xuân",
          "Hồng", "Kim", "Thành", "Mỹ")
GIVEN = ("An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hòa", "Hùng",
         "Hương", "Khánh", "Lan", "Linh", "Lộc", "Mai", "Nam", "Nga", "Phúc", "Phương",
         "Quân", "Sơn", "Tâm", "Thảo", "Thủy", "Trang", "Trung", "Tuấn", "Vân", "Yến",
         "Hoa", "Huệ", "Khoa", "Thuận", "Toàn", "Uyên", "Quý", "Loan")
# Names that differ only in diacritics, tone placement or one word: the hard cases.
TWINS = ("Nguyễn Thị Hoa", "Nguyễn Thị Hòa", "Nguyễn Thị Hoà", "Nguyễn Thi Hoa",
         "Trần Thị Hoa", "Nguyễn Thị Thủy", "Nguyễn Thị Thuỷ", "Lê Văn Hòa", "Lê Văn Hoa",
         "Nguyễn Văn Hoa", "Phạm Thị Huệ", "Phạm Thị Hue", "Hoàng Minh Khoa",
         "Hoàng Minh Khóa")
ORGANISATIONS = ("Hợp tác xã Nông nghiệp Đa Lộc", "Công ty TNHH Thủy sản Hòa Bình",
                 "Hộ kinh doanh Nguyễn Thị Hoa", "Công ty Cổ phần Xây dựng Gia Lộc")
TYPES = ("cccd", "giay_khai_sinh", "giay_chung_nhan_ket_hon", "to_khai_cu_tru",
         "giay_chung_nhan_qsdd", "giay_xac_nhan", "to_khai_khai_sinh")
PROCEDURES = (("1.001193", "Đăng ký khai sinh", "Hộ tịch"),
              ("1.000894", "Đăng ký kết hôn", "Hộ tịch"),
              ("1.004227", "Chứng thực bản sao từ bản chính", "Chứng thực"),
              ("1.003003", "Đăng ký biến động đất đai", "Đất đai"))
SYMBOLS = ("QĐ-UBND", "KH-UBND", "GXN-UBND", "TB-UBND", "NĐ-CP", "GCN")
PHRASES = ("Ủy ban nhân dân xã Đa Lộc", "số hóa hồ sơ", "hòa giải ở cơ sở", "thị trấn Gia Lộc",
           "căn cứ Luật Hộ tịch", "giấy tờ chứng minh nơi cư trú", "trả kết quả đúng hạn",
           "bộ phận một cửa", "người làm chứng", "xác nhận của công an xã", "khoa học",
           "văn hóa thông tin", "hoa màu vụ đông", "thủy lợi nội đồng")


@dataclass
class Owner:
    id: str
    name: str
    documents: list[int] = field(default_factory=list)
    dossiers: list[str] = field(default_factory=list)
    cccd_document: int | None = None


@dataclass
class Warehouse:
    owners: list[Owner]
    # code -> documents digitized in it
    dossiers: dict[str, list[int]] = field(default_factory=dict)
    results: dict[str, int] = field(default_factory=dict)  # result code -> document
    numbers: dict[str, int] = field(default_factory=dict)  # number symbol -> document
    reused: list[tuple[int, str]] = field(default_factory=list)  # (document, dossier)

    def owner_of(self, document_id: int) -> Owner:
        return next(o for o in self.owners if document_id in o.documents)


def _names(rng: random.Random, count: int) -> list[str]:
    names = list(TWINS)
    while len(names) < count:
        name = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        if name not in names:
            names.append(name)
    return names


def _page(rng: random.Random, names: list[str], owner: str | None) -> str:
    words = [rng.choice(PHRASES) for _ in range(6)]
    # Other people's names scattered in the text: their words must not pull this page
    # above the documents of the owner searched for.
    words.insert(rng.randrange(len(words)), f"ông (bà) {rng.choice(names)}")
    words.insert(rng.randrange(len(words)), f"{rng.choice(GIVEN)} {rng.choice(MIDDLE)}")
    if owner and rng.random() < 0.5:
        words.insert(0, f"Họ và tên: {owner.upper() if rng.random() < 0.3 else owner}")
    return ". ".join(words) + "."


def generate(conn: sqlite3.Connection, owners: int = 220, seed: int = 12) -> Warehouse:
    rng = random.Random(seed)
    names = _names(rng, owners - len(ORGANISATIONS))
    now = db.now()
    wh = Warehouse([])
    ids: set[str] = set()
    for i, name in enumerate([*names, *ORGANISATIONS]):
        while True:
            if i < len(names):
                oid = f"{rng.randint(1, 96):03d}{rng.randint(0, 3)}{rng.randint(0, 99):02d}" \
                      f"{rng.randint(0, 999999):06d}"
                kind = "citizen"
            else:
                oid = f"{rng.randint(100000000, 999999999):09d}{rng.randint(0, 9)}"
                kind = "organisation"
            if oid not in ids:
                break
        ids.add(oid)
        conn.execute("INSERT INTO owners (id, kind, name, created_at) VALUES (?, ?, ?, ?)",
                     (oid, kind, name, now))
        wh.owners.append(Owner(oid, name))
    seq = 0
    doc_id = 0
    for owner in wh.owners:
        # Twins get many documents or few, so both precision rules are exercised.
        n_docs = rng.choice((1, 2, 3, 5, 6, 7, 8)) if owner.name in TWINS else rng.randint(1, 8)
        for _ in range(rng.randint(1, 3)):
            seq += 1
            code = f"000.00.07.H47-2507{1 + seq % 28:02d}-{seq:04d}"
            proc = rng.choice(PROCEDURES)
            conn.execute(
                "INSERT INTO dossiers (code, created_at, procedure_code, procedure_name, field,"
                " channel, owner_id, received_at) VALUES (?, ?, ?, ?, ?, 'direct', ?, ?)",
                (code, now, *proc, owner.id, now))
            owner.dossiers.append(code)
            wh.dossiers[code] = []
        for k in range(n_docs):
            doc_id += 1
            dossier = rng.choice(owner.dossiers) if rng.random() < 0.8 else None
            type_code = "cccd" if k == 0 and len(owner.id) == 12 \
                else rng.choice(TYPES[1:])
            pages = [_page(rng, names, owner.name) for _ in range(rng.randint(1, 3))]
            conn.execute(
                "INSERT INTO documents (id, sha256, original_name, media_type, size,"
                " original_path, page_count, dossier_code, dossier_source, state, ingested_at,"
                " updated_at) VALUES (?, ?, ?, 'application/pdf', 1000, ?, ?, ?, ?,"
                " 'indexed', ?, ?)",
                (doc_id, f"{doc_id:064x}", f"scan_{doc_id:05d}.pdf", f"store/{doc_id}.pdf",
                 len(pages), dossier, "manual" if dossier else None, now, now))
            conn.executemany(
                "INSERT INTO pages (document_id, page_no, text, confidence, ocr_done)"
                " VALUES (?, ?, ?, 90, 1)", [(doc_id, n, t) for n, t in enumerate(pages, 1)])
            result_code = None
            if dossier and type_code != "cccd" and rng.random() < 0.3:
                n = sum(1 for c in wh.results if c.startswith(dossier)) + 1
                result_code = f"{dossier}-KQ{n}"
                wh.results[result_code] = doc_id
            if type_code == "cccd":
                number = owner.id
                owner.cccd_document = doc_id
            else:
                number = f"{rng.randint(1, 199):02d}/{rng.choice((2024, 2025))}/" \
                         f"{rng.choice(SYMBOLS)}"
                if number in wh.numbers:
                    number = f"{doc_id:03d}/2025/{rng.choice(SYMBOLS)}"
                wh.numbers[number] = doc_id
            conn.execute(
                "INSERT INTO document_meta (document_id, role, type_code, owner_id, name,"
                " number_symbol, issue_date, issuing_body, result_code, result_no, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, '2025-07-01', 'UBND xã Đa Lộc', ?, ?, ?)",
                (doc_id, "result" if result_code else "component", type_code,
                 owner.id if rng.random() < 0.85 or type_code == "cccd" or not dossier
                 else None,  # some documents reach their owner only through the dossier
                 None, number, result_code,
                 int(result_code.rsplit("KQ", 1)[1]) if result_code else None, now))
            owner.documents.append(doc_id)
            if dossier:
                wh.dossiers[dossier].append(doc_id)
        # A valid document reused in the owner's other dossier.
        if len(owner.dossiers) > 1 and owner.documents and rng.random() < 0.5:
            d = owner.documents[0]
            target = owner.dossiers[-1]
            own = conn.execute("SELECT dossier_code FROM documents WHERE id = ?",
                               (d,)).fetchone()[0]
            if own != target:
                conn.execute(
                    "INSERT INTO reuses (document_id, dossier_code, type_code, status, mode,"
                    " actor, created_at, attached_at) VALUES (?, ?, NULL, 'attached',"
                    " 'manual', 'test', ?, ?)", (d, target, now, now))
                wh.reused.append((d, target))
    return wh
