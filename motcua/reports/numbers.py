"""The numbers of the reports, and all the SQL that computes them (one place, one pass).

Period P = [S, E], local dates, both inclusive (see `periods`). A dossier takes part in
P when it was received on or before E and was not resolved before S. For each field
(lĩnh vực; a dossier without one is grouped under "Chưa xác định lĩnh vực"):

Received (Số hồ sơ nhận giải quyết)
  carried_over          received before S and still unresolved at the start of S
                        ("kỳ trước chuyển qua");
  received_online       received within P through the online channel;
  received_direct_post  received within P in person or by post (or with no channel);
  received_total        carried_over + received_online + received_direct_post.
Resolved within P (Số hồ sơ đã giải quyết): resolved_on in [S, E], split by comparing
  the resolution date with the due date printed on the receipt:
  resolved_early        resolution date before the due date ("trước hạn");
  resolved_on_time      on the due date ("đúng hạn");
  resolved_late         after the due date ("quá hạn").
In progress at the end of E (Số hồ sơ đang giải quyết): not resolved by the end of E
  (unresolved, or resolved after E: the table of a past period does not change when
  later results are recorded):
  pending_within        due date on or after E (not yet overdue on the last day);
  pending_overdue       due date before E.
A dossier without a due date (procedure unknown to the catalogue) is never counted late:
resolved, it is on time; pending, it is within time. Hence always
received_total = resolved_total + pending_total and
resolved_total = early + on time + late, pending_total = within + overdue.

Digitization, for the dossiers received within P (new ones, not carried over):
  digitized             dossiers with at least one digitized component: a scanned document
                        of the dossier that is not a result, or a warehouse document
                        attached by reuse;
  components_scanned    the dossiers' own digitized components (not results);
  components_reused     warehouse documents attached to them by reuse (status attached).
For the dossiers resolved within P:
  e_results             dossiers with at least one result stored in the warehouse
                        (an electronic result, code <dossier>-KQ<n>).
Citizens' ratings (Điều 31 Nghị định 118/2025/NĐ-CP), for the dossiers resolved within
P (the citizen has had the whole handling to judge), each counted once:
  very_satisfied, satisfied, dissatisfied   rated so, by the end of E (a rating made
                        later does not change a past period's table);
  unrated               no rating by the end of E: counted as unrated, never as satisfied.
  satisfaction rate     (very_satisfied + satisfied) / resolved × 100%: the unrated are in
                        the denominator.
Apology letters: letters (form 04) issued within P (issued_on in [S, E]) whose file was
written (a reservation left by a run that died is not a letter until it is rendered).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any

from motcua.counter.workdays import WorkCalendar
from motcua.labels import vi_sort_key
from motcua.reports.periods import Period

NO_FIELD = "Chưa xác định lĩnh vực"
TOTAL_LABEL = "Tổng cộng"

CSV_COLUMNS = ("field", "received_total", "received_online", "received_direct_post",
               "carried_over", "resolved_total", "resolved_early", "resolved_on_time",
               "resolved_late", "pending_total", "pending_within", "pending_overdue")

# One pass over the dossiers taking part in the period. NOT INDEXED: most rows of the
# table qualify (everything received before E), so a plain scan beats index lookups.
BIEU06_SQL = """
SELECT COALESCE(NULLIF(TRIM(field), ''), :no_field) AS field,
  SUM(received_on < :start) AS carried_over,
  SUM(received_on >= :start AND channel = 'online') AS received_online,
  SUM(received_on >= :start AND COALESCE(channel, '') <> 'online') AS received_direct_post,
  SUM(resolved_on <= :end) AS resolved_total,
  SUM(resolved_on <= :end AND resolved_on < COALESCE(due_date, resolved_on)) AS resolved_early,
  SUM(resolved_on <= :end AND resolved_on = COALESCE(due_date, resolved_on)) AS resolved_on_time,
  SUM(resolved_on <= :end AND resolved_on > COALESCE(due_date, resolved_on)) AS resolved_late,
  SUM(resolved_on IS NULL OR resolved_on > :end) AS pending_total,
  SUM((resolved_on IS NULL OR resolved_on > :end) AND COALESCE(due_date, :end) >= :end)
    AS pending_within,
  SUM((resolved_on IS NULL OR resolved_on > :end) AND COALESCE(due_date, :end) < :end)
    AS pending_overdue
FROM dossiers NOT INDEXED
WHERE received_on <= :end AND (resolved_on IS NULL OR resolved_on >= :start)
GROUP BY 1
"""

# Dossiers received within the period: components (own scans and reuses). MATERIALIZED:
# each correlated count runs once per dossier, not once per use in the outer query.
DIGITIZATION_RECEIVED_SQL = """
WITH x AS MATERIALIZED (
  SELECT COALESCE(NULLIF(TRIM(x.field), ''), :no_field) AS field,
    (SELECT COUNT(*) FROM documents d LEFT JOIN document_meta m ON m.document_id = d.id
      WHERE d.dossier_code = x.code AND COALESCE(m.role, 'component') = 'component') AS own,
    (SELECT COUNT(*) FROM reuses r
      WHERE r.dossier_code = x.code AND r.status = 'attached') AS reused
  FROM dossiers x
  WHERE x.received_on BETWEEN :start AND :end
)
SELECT field, COUNT(*) AS received,
  SUM(own > 0 OR reused > 0) AS digitized,
  SUM(own) AS components_scanned,
  SUM(reused) AS components_reused,
  SUM(reused > 0) AS with_reuse
FROM x
GROUP BY field
"""

# Dossiers resolved within the period: electronic results.
DIGITIZATION_RESOLVED_SQL = """
SELECT COALESCE(NULLIF(TRIM(x.field), ''), :no_field) AS field, COUNT(*) AS resolved,
  SUM(EXISTS (SELECT 1 FROM documents d JOIN document_meta m ON m.document_id = d.id
              WHERE d.dossier_code = x.code AND m.role = 'result')) AS e_results
FROM dossiers x
WHERE x.resolved_on BETWEEN :start AND :end
GROUP BY 1
"""

APOLOGIES_SQL = ("SELECT COUNT(*) FROM apologies WHERE issued_on BETWEEN :start AND :end"
                 " AND docx_path IS NOT NULL")

# Ratings of the dossiers resolved within the period (made by the end of it).
RATINGS_SQL = """
SELECT COALESCE(NULLIF(TRIM(x.field), ''), :no_field) AS field, COUNT(*) AS resolved,
  SUM(r.level = 'very_satisfied') AS very_satisfied,
  SUM(r.level = 'satisfied') AS satisfied,
  SUM(r.level = 'dissatisfied') AS dissatisfied
FROM dossiers x
LEFT JOIN ratings r ON r.dossier_code = x.code AND r.rated_on <= :end
WHERE x.resolved_on BETWEEN :start AND :end
GROUP BY 1
"""

# The same dossiers one by one, with the officers who received and returned them (the
# latest receive / resolve entry of the audit log): the leader's table per officer.
RATINGS_BY_DOSSIER_SQL = """
SELECT x.code, r.level,
  (SELECT a.actor FROM audit_log a WHERE a.subject = 'dossier:' || x.code
     AND a.action = 'dossier.receive' ORDER BY a.seq DESC LIMIT 1) AS received_by,
  (SELECT a.actor FROM audit_log a WHERE a.subject = 'dossier:' || x.code
     AND a.action = 'dossier.resolve' ORDER BY a.seq DESC LIMIT 1) AS returned_by
FROM dossiers x
LEFT JOIN ratings r ON r.dossier_code = x.code AND r.rated_on <= :end
WHERE x.resolved_on BETWEEN :start AND :end
"""

NO_OFFICER = "Chưa xác định cán bộ"

# Indicators: the resolved dossiers of the period, one row each (processing time).
RESOLVED_ROWS_SQL = """
SELECT procedure_code, procedure_name, received_on, resolved_on, due_date, processing_days
FROM dossiers
WHERE resolved_on BETWEEN :start AND :end AND received_on IS NOT NULL
ORDER BY procedure_code
"""


@dataclass(frozen=True)
class Bieu06Row:
    field: str
    received_total: int = 0
    received_online: int = 0
    received_direct_post: int = 0
    carried_over: int = 0
    resolved_total: int = 0
    resolved_early: int = 0
    resolved_on_time: int = 0
    resolved_late: int = 0
    pending_total: int = 0
    pending_within: int = 0
    pending_overdue: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def values(self) -> list[int]:
        return [getattr(self, c) for c in CSV_COLUMNS[1:]]

    @property
    def on_time_rate(self) -> float | None:
        """Share of the resolved dossiers resolved early or on time, in percent."""
        return share(self.resolved_early + self.resolved_on_time, self.resolved_total)


@dataclass(frozen=True)
class DigitizationRow:
    field: str
    received: int = 0
    digitized: int = 0
    components_scanned: int = 0
    components_reused: int = 0
    with_reuse: int = 0
    resolved: int = 0
    e_results: int = 0

    @property
    def digitized_rate(self) -> float | None:
        return share(self.digitized, self.received)

    @property
    def e_result_rate(self) -> float | None:
        return share(self.e_results, self.resolved)

    @property
    def reuse_rate(self) -> float | None:
        """Share of the dossier components met by reuse."""
        return share(self.components_reused, self.components_scanned + self.components_reused)

    @property
    def dossier_reuse_rate(self) -> float | None:
        return share(self.with_reuse, self.received)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(digitized_rate=self.digitized_rate, e_result_rate=self.e_result_rate,
                   reuse_rate=self.reuse_rate, dossier_reuse_rate=self.dossier_reuse_rate)
        return out


@dataclass(frozen=True)
class RatingRow:
    """Ratings of the dossiers resolved in the period (per field, or per officer)."""

    field: str
    resolved: int = 0
    very_satisfied: int = 0
    satisfied: int = 0
    dissatisfied: int = 0

    @property
    def rated(self) -> int:
        return self.very_satisfied + self.satisfied + self.dissatisfied

    @property
    def unrated(self) -> int:
        return self.resolved - self.rated

    @property
    def satisfied_rate(self) -> float | None:
        """Share of the resolved dossiers rated "rất hài lòng" or "hài lòng"; the unrated
        count in the denominator, never as satisfied."""
        return share(self.very_satisfied + self.satisfied, self.resolved)

    @property
    def rated_rate(self) -> float | None:
        return share(self.rated, self.resolved)

    def values(self) -> list[Any]:
        return [self.resolved, self.rated, self.very_satisfied, self.satisfied,
                self.dissatisfied, self.unrated, self.satisfied_rate]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(rated=self.rated, unrated=self.unrated,
                   satisfied_rate=self.satisfied_rate, rated_rate=self.rated_rate)
        return out


RATING_CSV_COLUMNS = ("field", "resolved", "rated", "very_satisfied", "satisfied",
                      "dissatisfied", "unrated", "satisfied_rate")


def share(part: int, whole: int) -> float | None:
    """part / whole in percent, None when there is nothing to divide."""
    return None if whole == 0 else 100.0 * part / whole


def _sum_rows(rows: Iterable[Any], cls: type, label: str) -> Any:
    names = [f.name for f in fields(cls) if f.name != "field"]
    totals = dict.fromkeys(names, 0)
    for row in rows:
        for n in names:
            totals[n] += getattr(row, n)
    return cls(label, **totals)


@dataclass(frozen=True)
class QuarterNumbers:
    period: Period
    rows: tuple[Bieu06Row, ...]  # one per field, sorted by field name
    total: Bieu06Row
    digitization: tuple[DigitizationRow, ...]
    digitization_total: DigitizationRow
    apologies: int
    seconds: float
    ratings: tuple[RatingRow, ...] = ()
    ratings_total: RatingRow = RatingRow(TOTAL_LABEL)

    def rating_csv_rows(self) -> list[list[Any]]:
        return [[r.field, *r.values()] for r in (*self.ratings, self.ratings_total)]

    def csv_rows(self) -> list[list[Any]]:
        return [[r.field, *r.values()] for r in (*self.rows, self.total)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": {"start": self.period.start.isoformat(),
                       "end": self.period.end.isoformat(), "label": self.period.label,
                       "key": self.period.key},
            "bieu06": [r.as_dict() for r in self.rows],
            "total": self.total.as_dict(),
            "on_time_rate": {r.field: r.on_time_rate for r in (*self.rows, self.total)},
            "digitization": [d.as_dict() for d in self.digitization],
            "digitization_total": self.digitization_total.as_dict(),
            "apology_letters": self.apologies,
            "ratings": [r.as_dict() for r in self.ratings],
            "ratings_total": self.ratings_total.as_dict(),
        }


def _params(period: Period) -> dict[str, Any]:
    return {"start": period.start.isoformat(), "end": period.end.isoformat(),
            "no_field": NO_FIELD}


def _field_key(name: str) -> tuple[int, Any]:
    """Fields in Vietnamese alphabetical order (Đất đai after Dân tộc, not after Y);
    the dossiers without a field last."""
    return (1 if name == NO_FIELD else 0, vi_sort_key(name))


def quarter_numbers(conn: sqlite3.Connection, period: Period) -> QuarterNumbers:
    """Biểu 06 by field, digitization figures and apology count for the period."""
    t0 = time.perf_counter()
    p = _params(period)
    rows: list[Bieu06Row] = []
    for r in conn.execute(BIEU06_SQL, p):
        d = {k: int(v or 0) for k, v in dict(r).items() if k != "field"}
        d["received_total"] = (d["carried_over"] + d["received_online"]
                               + d["received_direct_post"])
        rows.append(Bieu06Row(r["field"], **d))
    rows.sort(key=lambda row: _field_key(row.field))
    digi: dict[str, dict[str, int]] = {}
    for r in conn.execute(DIGITIZATION_RECEIVED_SQL, p):
        digi.setdefault(r["field"], {}).update(
            {k: int(v or 0) for k, v in dict(r).items() if k != "field"})
    for r in conn.execute(DIGITIZATION_RESOLVED_SQL, p):
        digi.setdefault(r["field"], {}).update(
            {k: int(v or 0) for k, v in dict(r).items() if k != "field"})
    digitization = tuple(DigitizationRow(f, **digi[f]) for f in sorted(digi, key=_field_key))
    apologies = int(conn.execute(APOLOGIES_SQL, p).fetchone()[0])
    ratings = sorted((RatingRow(r["field"], **{k: int(v or 0) for k, v in dict(r).items()
                                                if k != "field"})
                      for r in conn.execute(RATINGS_SQL, p)),
                     key=lambda row: _field_key(row.field))
    return QuarterNumbers(
        period, tuple(rows), _sum_rows(rows, Bieu06Row, TOTAL_LABEL), digitization,
        _sum_rows(digitization, DigitizationRow, TOTAL_LABEL), apologies,
        time.perf_counter() - t0, tuple(ratings), _sum_rows(ratings, RatingRow, TOTAL_LABEL))


def ratings_by_officer(conn: sqlite3.Connection, period: Period) -> tuple[RatingRow, ...]:
    """Per officer (receiving or returning; a dossier both received and returned by one
    officer counts once for that officer): the dossiers resolved in the period and their
    ratings. The `field` of each row is the officer's name as the audit log records it."""
    counts: dict[str, dict[str, int]] = {}
    for r in conn.execute(RATINGS_BY_DOSSIER_SQL, _params(period)):
        for officer in {r["received_by"] or NO_OFFICER, r["returned_by"] or NO_OFFICER}:
            c = counts.setdefault(officer, dict.fromkeys(
                ("resolved", "very_satisfied", "satisfied", "dissatisfied"), 0))
            c["resolved"] += 1
            if r["level"]:
                c[r["level"]] += 1
    return tuple(RatingRow(name, **counts[name])
                 for name in sorted(counts, key=lambda n: (n == NO_OFFICER, vi_sort_key(n))))


# --------------------------------------------------------------------------------------
# Indicators (Quyết định 766: the part the archive can know)


@dataclass(frozen=True)
class ProcedureTime:
    procedure_code: str
    procedure_name: str
    resolved: int
    average_working_days: float
    legal_days: int | None
    on_time: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Indicators:
    period: Period
    numbers: QuarterNumbers
    procedures: tuple[ProcedureTime, ...]

    @property
    def on_time_rate(self) -> float | None:
        return self.numbers.total.on_time_rate

    def as_dict(self) -> dict[str, Any]:
        t, d = self.numbers.total, self.numbers.digitization_total
        return {
            "period": self.numbers.as_dict()["period"],
            "indicators": [
                {"key": key, "name": name, "value": value, "numerator": num,
                 "denominator": den, "formula": formula}
                for key, name, value, num, den, formula in indicator_lines(
                    t, d, self.numbers.ratings_total)
            ],
            "processing_time": [p.as_dict() for p in self.procedures],
        }


SATISFACTION_FORMULA = (
    "(số hồ sơ giải quyết trong kỳ được người dân, doanh nghiệp đánh giá rất hài lòng + "
    "hài lòng) / số hồ sơ đã giải quyết trong kỳ × 100%; hồ sơ chưa được đánh giá vẫn "
    "tính ở mẫu số, không tính là hài lòng")


def indicator_lines(t: Bieu06Row, d: DigitizationRow, r: RatingRow
                    ) -> list[tuple[str, str, float | None, int, int, str]]:
    """(key, Vietnamese name, value %, numerator, denominator, formula in Vietnamese)."""
    return [
        ("on_time_rate", "Tỷ lệ hồ sơ giải quyết đúng hạn", t.on_time_rate,
         t.resolved_early + t.resolved_on_time, t.resolved_total,
         "(số hồ sơ giải quyết trước hạn + đúng hạn trong kỳ) / số hồ sơ đã giải quyết "
         "trong kỳ × 100%"),
        ("digitized_dossiers", "Tỷ lệ hồ sơ được số hóa thành phần", d.digitized_rate,
         d.digitized, d.received,
         "số hồ sơ tiếp nhận trong kỳ có ít nhất một thành phần hồ sơ số hóa (quét hoặc "
         "tái sử dụng) / số hồ sơ tiếp nhận trong kỳ × 100%"),
        ("e_results", "Tỷ lệ kết quả giải quyết điện tử", d.e_result_rate, d.e_results,
         d.resolved,
         "số hồ sơ giải quyết trong kỳ có kết quả điện tử lưu trong Kho / số hồ sơ đã "
         "giải quyết trong kỳ × 100%"),
        ("reuse_components", "Tỷ lệ thành phần hồ sơ được tái sử dụng", d.reuse_rate,
         d.components_reused, d.components_scanned + d.components_reused,
         "số thành phần hồ sơ lấy từ Kho (tái sử dụng) / (số thành phần hồ sơ số hóa mới "
         "+ số thành phần tái sử dụng) của hồ sơ tiếp nhận trong kỳ × 100%"),
        ("reuse_dossiers", "Tỷ lệ hồ sơ có tái sử dụng dữ liệu số hóa",
         d.dossier_reuse_rate, d.with_reuse, d.received,
         "số hồ sơ tiếp nhận trong kỳ có ít nhất một thành phần tái sử dụng / số hồ sơ "
         "tiếp nhận trong kỳ × 100%"),
        ("satisfaction", "Tỷ lệ hài lòng của người dân, doanh nghiệp", r.satisfied_rate,
         r.very_satisfied + r.satisfied, r.resolved, SATISFACTION_FORMULA),
        ("rated_dossiers", "Tỷ lệ hồ sơ được người dân, doanh nghiệp đánh giá",
         r.rated_rate, r.rated, r.resolved,
         "số hồ sơ giải quyết trong kỳ đã được đánh giá / số hồ sơ đã giải quyết trong kỳ "
         "× 100%"),
    ]


PROCESSING_TIME_FORMULA = (
    "Thời gian giải quyết trung bình của một thủ tục = tổng số ngày làm việc từ ngày "
    "tiếp nhận (không tính ngày tiếp nhận; hồ sơ nhận vào ngày nghỉ tính từ ngày làm việc "
    "kế tiếp) đến ngày có kết quả (tính cả ngày có kết quả) của các hồ sơ giải quyết trong "
    "kỳ / số hồ sơ đó."
)


def indicators(conn: sqlite3.Connection, period: Period,
               calendar: WorkCalendar) -> Indicators:
    numbers = quarter_numbers(conn, period)
    groups: dict[str, list[Any]] = {}
    for r in conn.execute(RESOLVED_ROWS_SQL, _params(period)):
        groups.setdefault(r["procedure_code"] or "", []).append(r)
    procs: list[ProcedureTime] = []
    for code, items in sorted(groups.items()):
        days = [calendar.working_days_between(
            calendar.deemed_receipt_day(date.fromisoformat(r["received_on"])),
            date.fromisoformat(r["resolved_on"])) for r in items]
        legal = {r["processing_days"] for r in items if r["processing_days"] is not None}
        on_time = sum(1 for r in items
                      if r["due_date"] is None or r["resolved_on"] <= r["due_date"])
        procs.append(ProcedureTime(code or "—", items[0]["procedure_name"] or "",
                                   len(items), sum(days) / len(days),
                                   max(legal) if legal else None, on_time))
    return Indicators(period, numbers, tuple(procs))
