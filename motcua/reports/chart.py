"""The on-time chart of the quarterly report (matplotlib, Agg backend, no display).

A horizontal bar per field (and one for the total) with the share of the dossiers
resolved in the period that were resolved early or on time; fields with no resolved
dossier show "chưa có hồ sơ giải quyết". The font is the documents' serif (Liberation
Serif, Vietnamese-complete), falling back to Noto Serif, never to a font without
Vietnamese letters.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib import font_manager

from motcua.errors import UserError
from motcua.reports.numbers import Bieu06Row

FONT_CANDIDATES = ("Liberation Serif", "Noto Serif", "Tinos")
TARGET = 100.0  # the commune plans' target: 100% of dossiers on time
# One name for what the chart shows, used by its title, its axis and the caption under it.
CHART_TITLE = "Tỷ lệ hồ sơ giải quyết trước hạn và đúng hạn theo lĩnh vực"
AXIS_LABEL = "Tỷ lệ hồ sơ giải quyết trước hạn và đúng hạn (%), mục tiêu 100%"


def chart_font() -> str:
    for name in FONT_CANDIDATES:
        try:
            font_manager.findfont(name, fallback_to_default=False)
            return name
        except ValueError:
            continue
    raise UserError(
        "Không tìm thấy phông chữ có đủ dấu tiếng Việt (Liberation Serif hoặc Noto Serif) để "
        "vẽ biểu đồ. Hãy cài gói fonts-liberation2.", "no Vietnamese serif font")


def on_time_chart(rows: list[Bieu06Row], total: Bieu06Row, out: Path, *,
                  title: str = CHART_TITLE,
                  dpi: int = 200) -> Path:
    """Write the PNG to `out` and return it."""
    font = chart_font()
    items = [*rows, total]
    labels = ["\n".join(textwrap.wrap(r.field, 28)) for r in items]
    rates = [r.on_time_rate for r in items]
    height = max(2.6, 0.55 * len(items) + 1.3)
    with plt.rc_context({"font.family": font, "font.size": 10, "axes.titlesize": 11,
                         "svg.fonttype": "none"}):
        fig, ax = plt.subplots(figsize=(6.3, height), dpi=dpi)
        ypos = list(range(len(items)))[::-1]
        colours = []
        for r, rate in zip(items, rates, strict=True):
            if r is total:
                colours.append("#1f3b73")
            elif rate is not None and rate >= 90:
                colours.append("#2e7d32")
            elif rate is not None and rate >= 70:
                colours.append("#f9a825")
            else:
                colours.append("#c62828")
        ax.barh(ypos, [rate or 0.0 for rate in rates], color=colours, height=0.6)
        for y, r, rate, colour in zip(ypos, items, rates, colours, strict=True):
            if rate is None:
                text, x = "chưa có hồ sơ giải quyết", 1.0
            else:
                done = r.resolved_early + r.resolved_on_time
                text = f"{rate:.1f}% ({done}/{r.resolved_total})".replace(".", ",", 1)
                x = min(rate, 100.0) + 1.0
                if rate > 70:
                    x = rate - 1.0
            inside = rate is not None and rate > 70
            ax.text(x, y, text, va="center", ha="right" if inside else "left",
                    color="white" if inside and colour != "#f9a825" else "black", fontsize=9,
                    fontweight="bold" if r is total else "normal")
        ax.axvline(TARGET, color="#555555", linestyle="--", linewidth=0.8)
        ax.set_yticks(ypos, labels)
        for tick in ax.get_yticklabels():
            if tick.get_text() == total.field:
                tick.set_fontweight("bold")
        ax.set_xlim(0, 105)  # from 0: a bar's length is its share, never exaggerated
        ax.set_xticks([0, 20, 40, 60, 80, 100], ["0%", "20%", "40%", "60%", "80%", "100%"])
        ax.set_xlabel(AXIS_LABEL)
        ax.set_title(title)
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        out.parent.mkdir(parents=True, exist_ok=True)
        # PNG for documents; SVG (text kept as text) for checking what the chart says
        fig.savefig(out, format="svg" if out.suffix.lower() == ".svg" else "png")
        plt.close(fig)
    return out
