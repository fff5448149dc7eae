"""Charts drawn on the server as inline SVG, and their data as CSV: no script, so a page under a
`script-src 'self'` policy shows them, and a screen reader reads their title and description.

Each chart is an `<svg role="img">` labelled by its `<title>` and `<desc>`; the page follows it
with the same figures as a table. Every text is escaped here. Colours keep WCAG 2.2 contrast on
white: 3:1 for bars (1.4.11), 4.5:1 for each heat-map cell's printed value against its fill.
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

INK = "#1f2933"  # text
MUTED = "#52606d"  # axes and tick labels
GRID = "#d9e2ec"  # decorative: the values are printed
BLUE = "#1f5fbf"
ORANGE = "#b04a00"
# Heat-map bins, lowest first: (fill, text colour); each text colour reads on its fill.
HEAT = (("#eff6ff", INK), ("#c6dbef", INK), ("#6baed6", INK), ("#2171b5", "#ffffff"), ("#08306b", "#ffffff"))
HEAT_LABELS = ("0–19 %", "20–39 %", "40–59 %", "60–79 %", "80–100 %")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula (OWASP CSV injection)


@dataclass(frozen=True)
class Series:
    """One set of columns of a column chart: its name (the legend), a value per label (None: no data), its colour."""

    name: str
    values: Sequence[float | None]
    colour: str = BLUE


def _text(value) -> str:
    return str(escape(value))


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _number(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


def _label(x: float, y: float, text: str, *, limit: int = 0, anchor: str = "start", **attributes) -> str:
    """A text, cut to `limit` characters with its whole text as a tooltip."""
    shown = _short(text, limit) if limit else text
    extra = "".join(f' {name.replace("_", "-")}="{_text(value)}"' for name, value in attributes.items())
    tooltip = f"<title>{_text(text)}</title>" if shown != text else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{tooltip}{_text(shown)}</text>'


def _svg(chart_id: str, title: str, description: str, width: float, height: float, body: list[str]) -> Markup:
    ids = _text(chart_id)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-labelledby="{ids}-title {ids}-desc" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'font-family="system-ui, sans-serif" font-size="12" fill="{INK}">'
        f'<title id="{ids}-title">{_text(title)}</title><desc id="{ids}-desc">{_text(description)}</desc>'
        + "".join(body) + "</svg>"
    )


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 × 10^n at or above `value` (1 for nothing): the top of an axis."""
    if value <= 0:
        return 1
    step = 1.0
    while step < value:
        for factor in (2, 2.5, 2):  # 1 → 2 → 5 → 10
            step *= factor
            if step >= value:
                break
    while step / 10 >= value:
        step /= 10
    return step


def column_chart(chart_id: str, title: str, description: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    """Columns per label (months), one per series side by side, each with its value printed above."""
    left, top, plot, group = 48, 24, 180, 60
    legend = 24 if len(series) > 1 else 0
    width, height = left + group * len(labels) + 12, top + plot + 36 + legend
    highest = nice_ceiling(max((v for one in series for v in one.values if v is not None), default=0))
    body = []
    for tick in range(5):
        value = highest * tick / 4
        y = top + plot - plot * tick / 4
        body.append(f'<line x1="{left}" x2="{width - 12}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_label(left - 6, y + 4, _number(value), anchor="end", fill=MUTED))
    column = (group - 16) / max(len(series), 1)
    for index, label in enumerate(labels):
        start = left + index * group + 8
        for position, one in enumerate(series):
            value = one.values[index]
            if value is None:
                continue
            size = plot * value / highest
            x = start + position * column
            body.append(f'<rect x="{x:.1f}" y="{top + plot - size:.1f}" width="{column - 2:.1f}" height="{size:.1f}" fill="{_text(one.colour)}"/>')
            body.append(_label(x + (column - 2) / 2, top + plot - size - 4, _number(value), anchor="middle", font_size=10))
        body.append(_label(start + (group - 16) / 2, top + plot + 16, label, limit=9, anchor="middle"))
    body.append(f'<line x1="{left}" x2="{width - 12}" y1="{top + plot}" y2="{top + plot}" stroke="{MUTED}"/>')
    for position, one in enumerate(series if legend else ()):
        x = left + position * 160
        body.append(f'<rect x="{x}" y="{height - 16}" width="12" height="12" fill="{_text(one.colour)}"/>')
        body.append(_label(x + 18, height - 6, one.name, limit=22))
    return _svg(chart_id, title, description, width, height, body)


def bar_chart(chart_id: str, title: str, description: str, labels: Sequence[str], shares: Sequence[float], texts: Sequence[str]) -> Markup:
    """Horizontal bars from 0 to 100 %, one per label, each followed by its text (e.g. "75 % (6 of 8)")."""
    left, scale, row = 220, 300, 28
    width, height = left + scale + 130, 24 + row * len(labels) + 24
    body = []
    for percent in (0, 50, 100):
        x = left + scale * percent / 100
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="16" y2="{height - 20}" stroke="{GRID}"/>')
        body.append(_label(x, height - 6, f"{percent} %", anchor="middle", fill=MUTED))
    for index, (label, share, text) in enumerate(zip(labels, shares, texts, strict=True)):
        y = 20 + index * row
        body.append(_label(left - 8, y + 15, label, limit=32, anchor="end"))
        body.append(f'<rect x="{left}" y="{y + 3}" width="{scale * share:.1f}" height="{row - 8}" fill="{BLUE}"/>')
        body.append(_label(left + scale * share + 6, y + 15, text))
    return _svg(chart_id, title, description, width, height, body)


def heat_bin(share: float) -> int:
    """The heat-map bin of a share (0..1), by its percentage as printed: 0-19 %, 20-39 %, … 80-100 %."""
    return min(round(share * 100) // 20, len(HEAT) - 1)


def heat_map(
    chart_id: str, title: str, description: str, rows: Sequence[str], columns: Sequence[str], shares: Sequence[Sequence[float]]
) -> Markup:
    """A grid of rows × columns, each cell filled by its share's bin and printing its percentage; a legend below."""
    left, top, cell_width, cell_height = 170, 130, 56, 30
    width = max(left + cell_width * len(columns) + 16, left + 100 * len(HEAT))
    height = top + cell_height * len(rows) + 56
    body = []
    for index, column in enumerate(columns):
        x, y = left + index * cell_width + cell_width / 2, top - 8
        body.append(_label(x, y, column, limit=20, transform=f"rotate(-40 {x:.1f} {y:.1f})"))
    for row_index, (row, row_shares) in enumerate(zip(rows, shares, strict=True)):
        y = top + row_index * cell_height
        body.append(_label(left - 8, y + cell_height / 2 + 4, row, limit=24, anchor="end"))
        for index, share in enumerate(row_shares):  # numbers and the palette's colours only: nothing to escape
            fill, ink = HEAT[heat_bin(share)]
            x = left + index * cell_width
            body.append(f'<rect x="{x}" y="{y}" width="{cell_width - 2}" height="{cell_height - 2}" fill="{fill}"/>'
                        f'<text x="{x + cell_width / 2 - 1:.1f}" y="{y + cell_height / 2 + 3:.1f}" text-anchor="middle" '
                        f'fill="{ink}">{round(share * 100)} %</text>')
    legend_y = top + cell_height * len(rows) + 20
    body.append(_label(0, legend_y + 12, "Share of people:"))
    for index, ((fill, _), text) in enumerate(zip(HEAT, HEAT_LABELS, strict=True)):
        x = left + index * 100
        body.append(f'<rect x="{x}" y="{legend_y}" width="16" height="16" fill="{fill}" stroke="{MUTED}"/>')
        body.append(_label(x + 22, legend_y + 12, text))
    return _svg(chart_id, title, description, width, height, body)


def safe_cell(value):
    """A CSV cell a spreadsheet shows as text: one starting like a formula gets a leading apostrophe."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def csv_text(header: Sequence[str], rows) -> str:
    """A chart's data as CSV (RFC 4180 line endings), every text cell neutralised against formula injection."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(name) for name in header])
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return out.getvalue()


def download_headers(filename: str) -> dict[str, str]:
    """The headers that make a browser save a response under `filename` (ASCII, chosen by the caller)."""
    return {"Content-Disposition": f'attachment; filename="{filename}"', "X-Content-Type-Options": "nosniff"}
