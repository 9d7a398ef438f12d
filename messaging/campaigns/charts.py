"""Numbers -> SVG geometry for the server-rendered charts (the template draws; no JavaScript, no CDN)."""

from __future__ import annotations

WIDTH, HEIGHT, PAD = 600, 180, 30


def line_chart(points: list[tuple], *, label: str) -> dict:
    """``points`` is [(date, value)]: a polyline scaled into the chart box, plus axis labels."""
    values = [v for _d, v in points if v is not None]
    if not values:
        return {"label": label, "empty": True}
    top = max(values) or 1
    n = max(len(points) - 1, 1)
    coords = [(PAD + i * (WIDTH - 2 * PAD) / n, HEIGHT - PAD - (v or 0) * (HEIGHT - 2 * PAD) / top)
              for i, (_d, v) in enumerate(points)]
    return {"label": label, "empty": False, "width": WIDTH, "height": HEIGHT, "max": top,
            "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in coords),
            "first": points[0][0], "last": points[-1][0], "latest": values[-1],
            "dots": [{"x": round(x, 1), "y": round(y, 1), "date": d, "value": v}
                     for (x, y), (d, v) in zip(coords, points, strict=True)]}


def stacked_bars(days: list[tuple], *, label: str) -> dict:
    """``days`` is [(date, {type: count})]: one stacked bar per day, one colour per type."""
    kinds = sorted({k for _d, counts in days for k in counts})
    top = max((sum(c.values()) for _d, c in days), default=0) or 1
    width = (WIDTH - 2 * PAD) / max(len(days), 1)
    bars = []
    for i, (day, counts) in enumerate(days):
        y = HEIGHT - PAD
        for k_index, kind in enumerate(kinds):
            h = counts.get(kind, 0) * (HEIGHT - 2 * PAD) / top
            if h:
                y -= h
                bars.append({"x": round(PAD + i * width + 1, 1), "y": round(y, 1), "w": round(max(width - 2, 1), 1),
                             "h": round(h, 1), "cls": f"c{k_index % 6}", "title": f"{day}: {kind} {counts[kind]}"})
    return {"label": label, "empty": not bars, "width": WIDTH, "height": HEIGHT, "max": top, "bars": bars,
            "legend": [{"name": k, "cls": f"c{i % 6}"} for i, k in enumerate(kinds)]}
