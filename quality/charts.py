"""Inline SVG charts for the steward report: a missingness heatmap and box plots of key labs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape


def _heat(share: float) -> str:
    """Pale green for complete, then pale to deep red (square-root scale: small gaps stay visible)."""
    share = min(max(share, 0.0), 1.0)
    if share == 0.0:
        return "#eef7ee"
    g = int(225 - 175 * share**0.5)
    return f"rgb(240,{g},{int(g * 0.85)})"


def missingness_heatmap(table: str, rows: Mapping[str, Mapping[str, float]], countries: Sequence[str]) -> str:
    """Rows: column → {country → share of nulls}; one cell per column and country."""
    cell_w, cell_h, label_w, head_h = 64, 18, 170, 22
    width = label_w + cell_w * max(len(countries), 1) + 8
    height = head_h + cell_h * len(rows) + 6
    parts = [
        f'<svg class="chart" role="img" aria-label="missing values in {escape(table)} by column and country" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, country in enumerate(countries):
        x = label_w + i * cell_w + cell_w / 2
        parts.append(f'<text x="{x}" y="15" text-anchor="middle" class="axis">{escape(country)}</text>')
    for j, (column, shares) in enumerate(rows.items()):
        y = head_h + j * cell_h
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" class="axis">{escape(column)}</text>')
        for i, country in enumerate(countries):
            x = label_w + i * cell_w
            share = shares.get(country)
            if share is None:
                parts.append(f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="#eee"/>')
                continue
            label = f"{100 * share:.0f}%"
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{_heat(share)}">'
                f"<title>{escape(table)}.{escape(column)} in {escape(country)}: "
                f"{100 * share:.1f}% missing</title></rect>"
                f'<text x="{x + cell_w / 2 - 1}" y="{y + 13}" text-anchor="middle" class="cell">{label}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def box_plots(title: str, unit: str, stats: Mapping[str, Mapping[str, float]]) -> str:
    """One horizontal box (p5, p25, median, p75, p95) per country, on a shared axis."""
    if not stats:
        return ""
    label_w, plot_w, row_h, head_h = 60, 300, 22, 26
    lo = min(s["p5"] for s in stats.values())
    hi = max(s["p95"] for s in stats.values())
    span = (hi - lo) or 1.0
    width, height = label_w + plot_w + 20, head_h + row_h * len(stats) + 24

    def x(value: float) -> float:
        return round(label_w + (value - lo) / span * plot_w, 1)

    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)} by country" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{label_w}" y="15" class="title">{escape(title)} ({escape(unit)})</text>',
    ]
    for j, (country, s) in enumerate(stats.items()):
        y = head_h + j * row_h
        mid = y + row_h / 2 - 2
        tip = (
            f"{escape(country)}: n={int(s.get('n', 0))}, p5={s['p5']:.3g}, p25={s['p25']:.3g}, "
            f"median={s['p50']:.3g}, p75={s['p75']:.3g}, p95={s['p95']:.3g}"
        )
        parts.append(
            f'<g><title>{tip}</title><text x="{label_w - 6}" y="{mid + 4}" text-anchor="end" class="axis">'
            f"{escape(country)}</text>"
            f'<line x1="{x(s["p5"])}" x2="{x(s["p95"])}" y1="{mid}" y2="{mid}" stroke="#555"/>'
            f'<rect x="{x(s["p25"])}" y="{mid - 7}" width="{max(x(s["p75"]) - x(s["p25"]), 1)}" height="14" '
            f'fill="#9ecae1" stroke="#3182bd"/>'
            f'<line x1="{x(s["p50"])}" x2="{x(s["p50"])}" y1="{mid - 7}" y2="{mid + 7}" stroke="#08519c" '
            f'stroke-width="2"/></g>'
        )
    axis_y = head_h + row_h * len(stats) + 12
    parts.append(f'<text x="{label_w}" y="{axis_y}" class="axis">{lo:.3g}</text>')
    parts.append(f'<text x="{label_w + plot_w}" y="{axis_y}" text-anchor="end" class="axis">{hi:.3g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar(share: float, failed: bool) -> str:
    """A small inline bar of a share (pass rate or violating share)."""
    width = round(min(max(share, 0.0), 1.0) * 80, 1)
    colour = "#c0392b" if failed else "#27ae60"
    return (
        f'<svg width="84" height="10" aria-hidden="true" xmlns="http://www.w3.org/2000/svg">'
        f'<rect width="80" height="8" y="1" fill="#eee"/><rect width="{width}" height="8" y="1" fill="{colour}"/></svg>'
    )
