"""click's own words in Vietnamese: usage errors, help headings, the help and version
options, prompts.

click passes every message of its own through `gettext`/`ngettext`, imported into each
of its modules (`from gettext import gettext as _`). `install()` points those names at
this catalogue, so a clerk reads "Thiếu tùy chọn '--procedure'" instead of "Missing
option". The msgids are click's own (checked against click 8.3's source); a msgid not in
the catalogue passes through unchanged, and `tests/test_cli_docs.py` runs the usage
errors to catch a click release that rewords one.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

import click

SINGULAR: dict[str, str] = {
    # headings and help
    "Usage:": "Cách dùng:",
    "Options": "Tùy chọn",
    "Commands": "Lệnh",
    "Positional arguments": "Đối số",
    "Show this message and exit.": "Xem hướng dẫn này rồi thoát.",
    "Show the version and exit.": "Xem phiên bản rồi thoát.",
    "%(prog)s, version %(version)s": "%(prog)s, phiên bản %(version)s",
    "env var: {var}": "biến môi trường: {var}",
    "default: {default}": "mặc định: {default}",
    "required": "bắt buộc",
    "(dynamic)": "(tự xác định)",
    # errors
    "Error: {message}": "Lỗi: {message}",
    "Try '{command} {option}' for help.": "Xem hướng dẫn: {command} {option}",
    "Missing argument": "Thiếu đối số",
    "Missing option": "Thiếu tùy chọn",
    "Missing parameter": "Thiếu tham số",
    "Missing {param_type}": "Thiếu {param_type}",
    "Missing parameter: {param_name}": "Thiếu tham số: {param_name}",
    "Missing command.": "Thiếu lệnh.",
    "No such option {name!r}.": "Không có tùy chọn {name!r}.",
    "No such command {name!r}.": "Không có lệnh {name!r}.",
    "Invalid value: {message}": "Giá trị không hợp lệ: {message}",
    "Invalid value for {param_hint}: {message}":
        "Giá trị không hợp lệ cho {param_hint}: {message}",
    "Option {name!r} does not take a value.": "Tùy chọn {name!r} không nhận giá trị.",
    "Argument {name!r} takes {nargs} values.": "Đối số {name!r} cần {nargs} giá trị.",
    "Value must be an iterable.": "Giá trị phải là một danh sách.",
    "Choose from:\n\t{choices}": "Chọn một trong:\n\t{choices}",
    "{value!r} is not a valid {number_type}.": "{value!r} không phải là số hợp lệ.",
    "{value} is not in the range {range}.": "{value} nằm ngoài khoảng cho phép {range}.",
    "{value!r} is not a valid boolean. Recognized values: {states}":
        "{value!r} không phải giá trị có/không hợp lệ; nhận: {states}",
    "{value!r} is not a valid UUID.": "{value!r} không phải UUID hợp lệ.",
    "file": "tệp",
    "directory": "thư mục",
    "path": "đường dẫn",
    # click title-cases {name} ("Đường Dẫn"): the Vietnamese sentences do without it.
    "{name} {filename!r} does not exist.": "Không có {filename!r}.",
    "{name} {filename!r} is a file.": "{filename!r} là một tệp, ở đây cần một thư mục.",
    "{name} {filename!r} is a directory.": "{filename!r} là một thư mục, ở đây cần một tệp.",
    "{name} {filename!r} is not readable.": "Không đọc được {filename!r}.",
    "{name} {filename!r} is not writable.": "Không ghi được vào {filename!r}.",
    "{name} {filename!r} is not executable.": "Không chạy được {filename!r}.",
    "Could not open file {filename!r}: {message}": "Không mở được tệp {filename!r}: {message}",
    "unknown error": "lỗi không rõ",
    "Aborted!": "Đã hủy.",
    # prompts
    "Repeat for confirmation": "Nhập lại để xác nhận",
    "Error: The two entered values do not match.": "Lỗi: hai lần nhập không khớp nhau.",
    "Error: invalid input": "Lỗi: giá trị nhập không hợp lệ",
    "Do you want to continue?": "Tiếp tục?",
    "Confirm the action without prompting.": "Xác nhận luôn, không hỏi lại.",
    "Press any key to continue...": "Nhấn một phím bất kỳ để tiếp tục...",
}

PLURAL: dict[tuple[str, str], tuple[str, str]] = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"):
        ("Thừa đối số ({args})", "Thừa các đối số ({args})"),
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"):
        ("Có phải là {possibility}?", "(Có phải là một trong: {possibilities}?)"),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."):
        ("Tùy chọn {name!r} cần một giá trị.", "Tùy chọn {name!r} cần {nargs} giá trị."),
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."):
        ("{value!r} không phải là {choice}.", "{value!r} không thuộc các giá trị {choices}."),
    ("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."):
        ("Cần {nargs} giá trị nhưng chỉ có 1.", "Cần {nargs} giá trị nhưng có {len}."),
    ("{len_type} values are required, but {len_value} was given.",
     "{len_type} values are required, but {len_value} were given."):
        ("Cần {len_type} giá trị nhưng có {len_value}.",
         "Cần {len_type} giá trị nhưng có {len_value}."),
}

# The placeholders click prints for option values in help and usage lines.
METAVARS: dict[str, str] = {
    "[OPTIONS]": "[TÙY CHỌN]",
    "COMMAND [ARGS]...": "LỆNH [ĐỐI SỐ]...",
    "INTEGER RANGE": "SỐ",
    "FLOAT RANGE": "SỐ",
    "INTEGER": "SỐ",
    "FLOAT": "SỐ",
    "TEXT": "CHỮ",
    "DIRECTORY": "THƯ_MỤC",
    "FILE": "TỆP",
    "PATH": "ĐƯỜNG_DẪN",
    "BOOLEAN": "CÓ/KHÔNG",
}
_METAVAR = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(
    (k for k in METAVARS if not k.startswith("[") and " [" not in k),
    key=len, reverse=True)) + r")\b")


def gettext(message: str) -> str:
    return SINGULAR.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    vi = PLURAL.get((singular, plural))
    if vi is None:
        return singular if n == 1 else plural
    return vi[0] if n == 1 else vi[1]


def metavar(text: str) -> str:
    """An English type placeholder (TEXT, INTEGER, DIRECTORY…) in Vietnamese."""
    return _METAVAR.sub(lambda m: METAVARS[m.group(1)], text)


_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "types", "termui",
            "utils", "_termui_impl", "shell_completion")
_installed = False


def install() -> None:
    """Point click's translation functions at this catalogue (once per process)."""
    global _installed
    if _installed:
        return
    for name in _MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:  # a module click dropped: nothing to translate there
            continue
        if hasattr(module, "_"):
            module._ = gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext  # type: ignore[attr-defined]
    _installed = True


def translate_metavars(make: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a parameter's `make_metavar` so help and usage lines show Vietnamese."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return metavar(make(*args, **kwargs))

    return wrapped


__all__ = ["click", "gettext", "install", "metavar", "ngettext"]
