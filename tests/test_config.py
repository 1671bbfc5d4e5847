"""motcua.toml: every section is known, every key of it too; a misspelt one is refused at
load with a Vietnamese message naming it, not silently ignored where it is read."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from motcua.errors import UserError
from motcua.ingest.limits import Limits
from motcua.ingest.workers import WorkersConfig
from motcua.services.accounts import WebSettings
from motcua.workspace import DEFAULT_CONFIG_TEXT, OTHER_SECTIONS, Workspace, parse_config
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.quick
def test_the_default_file_and_every_readme_example_load() -> None:
    parse_config(DEFAULT_CONFIG_TEXT)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", readme, re.S)
    sections = [b for b in blocks if re.search(r"^\[[a-z]", b, re.M)]
    assert len(sections) >= 5
    for block in sections:
        parse_config(block)


@pytest.mark.quick
def test_the_table_names_the_fields_of_the_typed_sections() -> None:
    for name, cls in (("web", WebSettings), ("limits", Limits), ("workers", WorkersConfig)):
        assert OTHER_SECTIONS[name] == {f.name for f in fields(cls)}, name


@pytest.mark.quick
@pytest.mark.parametrize(("text", "said"), [
    ("[lifecyle]\nreturn_time = \"16:30\"\n", "mục không hợp lệ “[lifecyle]”"),
    ("[lifecycle]\nretrun_time = \"16:30\"\n", "khóa không hợp lệ “lifecycle.retrun_time”"),
    ("[warehouse]\nauto_reus = \"off\"\n", "khóa không hợp lệ “warehouse.auto_reus”"),
    ("ratings = 3\n", "“ratings” phải là một mục “[ratings]”"),
    ("[ocr]\nlanguag = \"vie\"\n", "khóa không hợp lệ “ocr.languag”"),
])
def test_a_misspelt_section_or_key_is_refused(text: str, said: str) -> None:
    with pytest.raises(UserError) as info:
        parse_config(text)
    assert said in info.value.message


def test_the_cli_says_which_key_is_wrong(workspace: Workspace) -> None:
    with workspace.config_path.open("a", encoding="utf-8") as fh:
        fh.write("\n[reports]\nsignatur = \"KT\"\n")
    got = run_cli(workspace, "status", check=False)
    assert got.exit_code != 0
    assert "khóa không hợp lệ “reports.signatur”" in got.output
    assert "Traceback" not in got.output


def test_init_twice_keeps_the_workspace_and_says_so(tmp_path: Path) -> None:
    first = run_cli(None, "init", str(tmp_path / "kho"))
    assert first.stdout.startswith("Đã tạo kho làm việc tại")
    config = (tmp_path / "kho" / "motcua.toml")
    config.write_text(config.read_text(encoding="utf-8") + "\n# sửa tay\n", encoding="utf-8")
    again = run_cli(None, "init", str(tmp_path / "kho"))
    assert again.stdout.startswith("Kho làm việc đã có tại")
    assert "giữ nguyên" in again.stdout
    assert config.read_text(encoding="utf-8").endswith("# sửa tay\n")
