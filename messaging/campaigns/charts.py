"""Numbers -> SVG geometry for the server-rendered charts (``_chart.html`` and ``_hbars.html`` draw them).

No JavaScript and no CDN: every chart is inline SVG with axis labels, a legend, a text summary for screen
readers and the same numbers as a table. Days are dates in the channel's time zone, formatted by the
template in the reader's language.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

WIDTH, HEIGHT = 960, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 14, 46
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
MAX_X_TICKS = 8


def series(name: str, values: Sequence[int | None], cls: str, *, dashed: bool = False, reference: bool = False) -> dict:
    """One named row of numbers aligned with the chart's days; ``cls`` picks its colour (s0..s6).

    A ``reference`` line (a limit, say) is drawn without a dot per day.
    """
    return {"name": name, "values": list(values), "cls": cls, "dashed": dashed, "reference": reference}


def nice_step(span: float, count: int = 4) -> int:
    """A round step (1, 2, 2.5, 5 x 10^n, at least 1) that cuts ``span`` into about ``count`` parts."""
    if span <= 0:
        return 1
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return max(1, math.ceil(step))


def _x(i: int, n: int) -> float:
    """Centre of day ``i`` of ``n`` (days are slots, so bars and points line up)."""
    return LEFT + (i + 0.5) * PLOT_W / max(n, 1)


def _x_ticks(days: Sequence[date]) -> list[dict]:
    n = len(days)
    every = max(1, math.ceil(n / MAX_X_TICKS))
    ticks = list(range(n - 1, -1, -every))[::-1]  # always label the last day (today)
    return [{"x": round(_x(i, n), 1), "date": days[i]} for i in ticks]


def _frame(days: Sequence[date], low: float, high: float) -> tuple[dict, Callable[[float], float]]:
    """Axis ticks for the value range [low, high] (low <= 0), and the value -> y mapping."""
    step = nice_step(high - low, 5 if low < 0 else 4)  # one step above and below zero: the grid stays even
    top = step * max(1, math.ceil(high / step))
    bottom = -step * math.ceil(-low / step) if low < 0 else 0
    span = top - bottom

    def y(value: float) -> float:
        return round(TOP + (top - value) * PLOT_H / span, 1)

    ticks = list(range(bottom, top + 1, step))
    frame = {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "bottom": TOP + PLOT_H,
        "zero": y(0),
        "mid_x": LEFT + PLOT_W / 2,
        "mid_y": TOP + PLOT_H / 2,
        "x_label_y": HEIGHT - 6,
        "x_tick_y": TOP + PLOT_H + 16,
        "y_tick_x": LEFT - 6,
        "y_ticks": [{"y": y(v), "label": abs(v)} for v in ticks],  # bars below zero count up too (blocks)
        "x_ticks": _x_ticks(days),
    }
    return frame, y


def _table(days: Sequence[date], rows: Sequence[dict]) -> dict:
    return {
        "columns": [r["name"] for r in rows],
        "rows": [{"date": d, "values": [r["values"][i] for r in rows]} for i, d in enumerate(days)],
    }


def _lines(days: Sequence[date], rows: Sequence[dict], y) -> list[dict]:
    out = []
    for row in rows:
        dots = [
            {"x": round(_x(i, len(days)), 1), "y": y(v), "date": days[i], "value": v}
            for i, v in enumerate(row["values"])
            if v is not None
        ]
        points = " ".join(f"{d['x']},{d['y']}" for d in dots)
        shown = [] if row.get("reference") else dots
        out.append({**row, "points": points, "dots": shown, "show_dots": len(days) <= 31})
    return out


def _summary(days: Sequence[date], rows: Sequence[dict], *, totals: bool) -> list[dict]:
    out = []
    for row in rows:
        known = [v for v in row["values"] if v is not None]
        if known:
            out.append(
                {"name": row["name"], "first": known[0], "last": known[-1], "total": sum(known) if totals else None}
            )
    return out


def line_chart(
    *,
    chart_id: str,
    title: str,
    days: Sequence[date],
    lines: Sequence[dict],
    y_label: str,
    x_label: str,
    note: str = "",
    empty_text: str = "",
) -> dict:
    """Several lines over the same days (values may be None where a series has no number)."""
    values = [v for row in lines for v in row["values"] if v is not None]
    base = {
        "id": chart_id,
        "title": title,
        "note": note,
        "x_label": x_label,
        "y_label": y_label,
        "empty_text": empty_text,
        **_table(days, lines),
    }
    if not values:
        return {**base, "empty": True}
    frame, y = _frame(days, min(0, min(values)), max(values))
    return {
        **base,
        **frame,
        "empty": False,
        "lines": _lines(days, lines, y),
        "bars": [],
        "legend": [{"name": r["name"], "cls": r["cls"], "line": True, "dashed": r["dashed"]} for r in lines],
        "summary": _summary(days, lines, totals=False),
        "first_day": days[0],
        "last_day": days[-1],
    }


def bar_chart(
    *,
    chart_id: str,
    title: str,
    days: Sequence[date],
    above: Sequence[dict],
    y_label: str,
    x_label: str,
    below: Sequence[dict] = (),
    overlays: Sequence[dict] = (),
    note: str = "",
    empty_text: str = "",
) -> dict:
    """Stacked bars per day: ``above`` grows up from zero, ``below`` down (e.g. blocks), ``overlays`` are
    lines drawn on top (e.g. LINE's own count, to compare with ours)."""
    n = len(days)
    up = [sum(r["values"][i] or 0 for r in above) for i in range(n)]
    down = [sum(r["values"][i] or 0 for r in below) for i in range(n)]
    over = [v for r in overlays for v in r["values"] if v is not None]
    all_rows = [*above, *below, *overlays]
    base = {
        "id": chart_id,
        "title": title,
        "note": note,
        "x_label": x_label,
        "y_label": y_label,
        "empty_text": empty_text,
        **_table(days, all_rows),
    }
    if not any(up) and not any(down) and not any(over):
        return {**base, "empty": True}
    frame, y = _frame(days, -max(down, default=0), max([*up, *over, 1]))
    slot = PLOT_W / max(n, 1)
    width = round(max(min(slot * 0.7, 28), 1.5), 1)
    bars = []
    for i, day in enumerate(days):
        x = round(_x(i, n) - width / 2, 1)
        for sign, rows in ((1, above), (-1, below)):
            level = 0
            for row in rows:
                value = row["values"][i] or 0
                if not value:
                    continue
                y1, y2 = y(sign * level), y(sign * (level + value))
                bars.append(
                    {
                        "x": x,
                        "y": min(y1, y2),
                        "w": width,
                        "h": max(round(abs(y2 - y1), 1), 0.5),
                        "cls": row["cls"],
                        "name": row["name"],
                        "date": day,
                        "value": value,
                    }
                )
                level += value
    legend = [{"name": r["name"], "cls": r["cls"], "line": False} for r in (*above, *below)]
    legend += [{"name": r["name"], "cls": r["cls"], "line": True, "dashed": r["dashed"]} for r in overlays]
    return {
        **base,
        **frame,
        "empty": False,
        "bars": bars,
        "lines": _lines(days, overlays, y),
        "legend": legend,
        "summary": _summary(days, [*above, *below], totals=True) + _summary(days, overlays, totals=True),
        "first_day": days[0],
        "last_day": days[-1],
        "totals": [
            sum(v or 0 for v in r["values"]) if any(v is not None for v in r["values"]) else None for r in all_rows
        ],
    }


HBAR_W, HBAR_LABEL, HBAR_ROW = 960, 230, 34


def hbars(
    *, chart_id: str, title: str, items: Sequence[tuple[str, Any]], base: int | None = None, note: str = ""
) -> dict:
    """Horizontal bars, one per (label, value); a value of None is drawn as "not published".

    ``base`` (e.g. delivered) gives each bar a share: LINE's funnel reads "impressions: 40 % of delivered".
    """
    known = [v for _label, v in items if v is not None]
    top = max([*known, base or 0, 1])
    span = HBAR_W - HBAR_LABEL - 120
    rows = []
    for i, (label, value) in enumerate(items):
        w = round(span * (value or 0) / top, 1)
        rows.append(
            {
                "label": label,
                "value": value,
                "y": 8 + i * HBAR_ROW,
                "text_y": 8 + i * HBAR_ROW + 17,
                "w": w,
                "value_x": HBAR_LABEL + w + 8,
                "share": round(100 * value / base, 1) if value is not None and base else None,
                "cls": f"s{i % 7}",
            }
        )
    return {
        "id": chart_id,
        "title": title,
        "note": note,
        "rows": rows,
        "width": HBAR_W,
        "label_w": HBAR_LABEL,
        "bar_x": HBAR_LABEL,
        "track_w": span,
        "height": 16 + len(rows) * HBAR_ROW,
        "empty": not known,
    }
