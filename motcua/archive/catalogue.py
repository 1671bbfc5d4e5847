"""The procedure catalogue: a TOML file staff can edit, `procedures.toml` in the workspace.

The first time a workspace needs it, the shipped starter catalogue is copied there.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from motcua.errors import UserError
from motcua.workspace import Workspace

CATALOGUE_NAME = "procedures.toml"
SHIPPED = Path(__file__).with_name(CATALOGUE_NAME)


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    field: str
    processing_days: int
    requires: tuple[str, ...]
    reusable: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "field": self.field,
                "processing_days": self.processing_days, "requires": list(self.requires),
                "reusable": list(self.reusable)}


@dataclass(frozen=True)
class Catalogue:
    procedures: tuple[Procedure, ...]
    document_types: dict[str, str]

    def get(self, code: str) -> Procedure:
        for proc in self.procedures:
            if proc.code == code:
                return proc
        raise UserError(
            f"Không có thủ tục mã “{code}” trong danh mục {CATALOGUE_NAME}. "
            "Xem danh sách bằng “motcua procedures list”.",
            f"unknown procedure {code!r}",
        )

    def type_name(self, type_code: str) -> str:
        return self.document_types.get(type_code, type_code)


def catalogue_path(ws: Workspace) -> Path:
    return ws.root / CATALOGUE_NAME


def _err(path: Path, what: str) -> UserError:
    return UserError(f"Danh mục thủ tục {path.name}: {what}", f"bad catalogue {path}: {what}")


def parse_catalogue(text: str, path: Path) -> Catalogue:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _err(path, f"sai cú pháp ({exc}).") from exc
    types = data.get("document_types", {})
    if not isinstance(types, dict):
        raise _err(path, "mục [document_types] phải là bảng mã loại giấy tờ = tên.")
    procs: list[Procedure] = []
    seen: set[str] = set()
    for i, item in enumerate(data.get("procedure", []), start=1):
        where = f"thủ tục thứ {i}"
        for key in ("code", "name", "field", "processing_days"):
            if key not in item:
                raise _err(path, f"{where} thiếu trường “{key}”.")
        if not isinstance(item["processing_days"], int) or item["processing_days"] < 0:
            raise _err(path, f"{where}: “processing_days” phải là số ngày làm việc (số nguyên).")
        requires = tuple(item.get("requires", []))
        reusable = tuple(item.get("reusable", []))
        for t in requires:
            if t not in types:
                raise _err(path, f"{where} ({item['code']}): loại giấy tờ “{t}” chưa có "
                                 "trong [document_types].")
        for t in reusable:
            if t not in requires:
                raise _err(path, f"{where} ({item['code']}): “{t}” trong reusable phải có "
                                 "trong requires.")
        if item["code"] in seen:
            raise _err(path, f"mã thủ tục “{item['code']}” bị trùng.")
        seen.add(item["code"])
        procs.append(Procedure(str(item["code"]), str(item["name"]), str(item["field"]),
                               int(item["processing_days"]), requires, reusable))
    return Catalogue(tuple(procs), {str(k): str(v) for k, v in types.items()})


def load_catalogue(ws: Workspace) -> Catalogue:
    """Read the workspace catalogue, creating it from the shipped one if absent."""
    path = catalogue_path(ws)
    if not path.exists():
        shutil.copyfile(SHIPPED, path)
    return parse_catalogue(path.read_text(encoding="utf-8"), path)
