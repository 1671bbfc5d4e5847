"""The [workers] section of motcua.toml: where OCR runs.

    [workers]
    backend = "local"            # this machine's process pool (default), or "celery"
    broker_url = "redis://may-chu-dieu-phoi:6379/0"
    in_flight = 16               # files sent to the queue at once
    visibility_timeout = 3600    # seconds before a vanished worker's task is redone
    retry_seconds = 30           # wait before sending again when Redis is down

Read without importing Celery: a commune on the local backend never loads it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from motcua.errors import UserError

SECTION = "workers"


@dataclass(frozen=True)
class WorkersConfig:
    """The [workers] section of motcua.toml."""

    backend: str = "local"  # "local": this machine's process pool; "celery": Redis + workers
    broker_url: str = ""
    #: Files sent to the queue at once (stored originals waiting for a worker).
    in_flight: int = 16
    #: Seconds after which a task taken by a worker that vanished (power cut, SIGKILL of
    #: the whole worker) is given to another one. Longer than the longest file's OCR.
    visibility_timeout: int = 3600
    #: Seconds a file waits before it is sent again when Redis cannot be reached.
    retry_seconds: int = 30


def workers_of(extra: dict[str, Any]) -> WorkersConfig:
    """The [workers] section (absent keys keep their defaults)."""
    data = extra.get(SECTION, {})
    known = {f.name: f for f in fields(WorkersConfig)}
    ok = isinstance(data, dict) and set(data) <= set(known)
    if ok:
        ok = data.get("backend", "local") in ("local", "celery") and \
            isinstance(data.get("broker_url", ""), str) and all(
                isinstance(data[k], int) and not isinstance(data[k], bool) and data[k] > 0
                for k in ("in_flight", "visibility_timeout", "retry_seconds") if k in data)
    if not ok:
        raise UserError(
            "Mục [workers] trong motcua.toml không hợp lệ: backend là \"local\" hoặc "
            "\"celery\", broker_url là địa chỉ Redis (ví dụ \"redis://may-chu:6379/0\"), "
            "in_flight, visibility_timeout, retry_seconds là số nguyên dương.",
            f"bad [workers] section: {data!r}")
    cfg = WorkersConfig(**data)
    if cfg.backend == "celery" and not cfg.broker_url:
        raise UserError(
            "Mục [workers] chọn backend = \"celery\" nhưng thiếu broker_url (địa chỉ máy chủ "
            "Redis, ví dụ \"redis://may-chu:6379/0\").", "celery backend without broker_url")
    return cfg
