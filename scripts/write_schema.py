"""Write docs/schema.sql from a fresh database (run after adding a migration)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from motcua import db  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        conn = db.connect(Path(tmp) / "motcua.db")
        try:
            text = db.schema_sql(conn)
        finally:
            conn.close()
    target = ROOT / "docs" / "schema.sql"
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
