"""The layer rules, checked on the source: the front ends (cli/, web/) import only the
service layer and the shared modules; the domain never imports the service layer or a
front end; services never import a front-end library. And the checked-in schema is the
schema a fresh database gets."""

from __future__ import annotations

import ast
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from motcua import db

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "motcua"

FRONT_END_MAY_IMPORT = ("motcua.services", "motcua.labels", "motcua.errors",
                        "motcua.workspace", "motcua.index")
DOMAIN = ("ingest", "ocr", "archive", "counter", "index", "templates", "reports")
# Which domain package may use which: ocr and index are leaves (the tools); ingest drives
# the steps to its right; the archive uses the PDF/A check and the index; the counter,
# the templates and the reports read the archive, and the reports the counter too.
# Nothing imports ingest: the pipeline is started by the services.
DOMAIN_MAY_IMPORT = {
    "ingest": ("ocr", "archive", "index"),
    "ocr": (),
    "archive": ("ocr", "index"),
    "counter": ("archive",),
    "index": (),
    "templates": ("archive",),
    "reports": ("archive", "counter", "templates"),
}


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    """Every module a file imports (module-level and inside functions), resolved to its
    full dotted name; `from motcua import labels` yields `motcua.labels`."""
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}" if base else alias.name


def files_under(name: str) -> list[Path]:
    return sorted((PACKAGE / name).rglob("*.py"))


def _ours(target: str) -> bool:
    return target == "motcua" or target.startswith("motcua.")


def _within(target: str, prefixes: tuple[str, ...]) -> bool:
    return any(target == p or target.startswith(p + ".") for p in prefixes)


def front_end_violations(name: str) -> list[str]:
    own = f"motcua.{name}"
    found = []
    for path in files_under(name):
        for line, target in imports_of(path):
            if not _ours(target) or _within(target, (own, *FRONT_END_MAY_IMPORT)):
                continue
            if path.name == "serve.py" and _within(target, ("motcua.web",)):
                continue  # `motcua serve` starts the web page
            if path.name == "app.py" and name == "web" and _within(target, ("motcua.api",)):
                continue  # the web app mounts the API under /api/v1
            found.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    return found


@pytest.mark.quick
def test_the_walker_resolves_relative_and_package_imports(tmp_path: Path) -> None:
    pkg = ROOT / "motcua" / "cli" / "__init__.py"
    found = {t for _, t in imports_of(pkg)}
    assert "motcua.cli.counter" in found and "motcua.cli._base.Group" in found
    assert any(t.startswith("motcua.services") for _, t in imports_of(
        ROOT / "motcua" / "cli" / "documents.py"))


@pytest.mark.quick
@pytest.mark.parametrize("front_end", ["cli", "web", "api"])
def test_front_ends_use_only_the_service_layer(front_end: str) -> None:
    assert front_end_violations(front_end) == []


@pytest.mark.quick
@pytest.mark.parametrize("package", DOMAIN)
def test_the_domain_never_imports_services_or_front_ends(package: str) -> None:
    bad = [f"{p.relative_to(ROOT)}:{line} imports {t}" for p in files_under(package)
           for line, t in imports_of(p)
           if _within(t, ("motcua.services", "motcua.cli", "motcua.web"))]
    assert bad == []


@pytest.mark.quick
@pytest.mark.parametrize("package", DOMAIN)
def test_the_domain_follows_the_data_flow(package: str) -> None:
    allowed = tuple(f"motcua.{q}" for q in (package, *DOMAIN_MAY_IMPORT[package]))
    others = tuple(f"motcua.{q}" for q in DOMAIN)
    bad = [f"{p.relative_to(ROOT)}:{line} imports {t}" for p in files_under(package)
           for line, t in imports_of(p)
           if _within(t, others) and not _within(t, allowed)]
    assert bad == []


@pytest.mark.quick
def test_services_stay_free_of_front_end_libraries() -> None:
    bad = [f"{p.relative_to(ROOT)}:{line} imports {t}" for p in files_under("services")
           for line, t in imports_of(p)
           if _within(t, ("click", "starlette", "uvicorn", "jinja2", "motcua.cli",
                          "motcua.web"))]
    assert bad == []


@pytest.mark.quick
def test_labels_and_errors_import_nothing_of_the_domain() -> None:
    for name in ("labels.py", "errors.py"):
        ours = [t for _, t in imports_of(PACKAGE / name) if _ours(t)]
        assert set(ours) <= {"motcua.errors.UserError"}, (name, ours)


def test_schema_sql_is_the_schema_of_a_fresh_database() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        conn = db.connect(Path(tmp) / "motcua.db")
        try:
            fresh = db.schema_sql(conn)
        finally:
            conn.close()
    checked_in = (ROOT / "docs" / "schema.sql").read_text(encoding="utf-8")
    assert checked_in == fresh, (
        "docs/schema.sql is out of date: run `.venv/bin/python scripts/write_schema.py` "
        "and commit the result")
    assert "CREATE TABLE dossiers" in fresh and "CREATE TRIGGER" in fresh
