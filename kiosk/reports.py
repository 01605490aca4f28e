"""The manager's reports as pictures: figures from the plugins (``kiosk_report_figures``), drawn
with matplotlib into one self-contained HTML file (``kiosk report month|repairs|... --html``),
and the same figures as tables on the desk's Reports tab.

Plugins hand over data only (:class:`kiosk.hookspecs.ReportFigure`); every chart is drawn here,
with the Agg backend, into PNGs embedded as base64, so the file opens anywhere without a
server. matplotlib is imported only when a report is drawn (a kiosk's start-up never pays for
it). Every text from the data is escaped (``html.escape``) and drawn without mathtext.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import logging
import re
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from kiosk.errors import Refused
from kiosk.hookspecs import ReportFigure, ReportPeriod
from kiosk.i18n import N_, _, language

if TYPE_CHECKING:
    from kiosk.context import KioskContext
    from kiosk.identity import Actor

log = logging.getLogger(__name__)

# Fonts with Chinese glyphs, best first (Debian: fonts-noto-cjk; then WenQuanYi, Droid).
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Noto Sans CJK KR",
    "Noto Serif CJK SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
)
_NO_FONT_LOGGED: list[bool] = []  # say once per process that Chinese cannot be drawn
PALETTE = ("#2f6db5", "#e08a2c", "#3f9b5a", "#c8453b", "#8a63b8", "#7f7f7f")


# -- the period and the figures ------------------------------------------------------------


def report_period(ctx: KioskContext, month: str | None = None) -> ReportPeriod:
    """The report period of ``month`` (``YYYY-MM``; default: this month by the estate clock)."""
    now = ctx.clock.now()
    text = (month or now.astimezone(ctx.zone).strftime("%Y-%m")).strip()
    found = re.fullmatch(r"(\d{4})-(\d{2})", text)
    try:
        if found is None or not 1900 <= int(found[1]) <= 9000:
            raise ValueError(text)
        first = dt.date(int(found[1]), int(found[2]), 1)
    except ValueError:
        raise Refused("report.month", "A month is written YYYY-MM, not {month}.",
                      month=text) from None  # fmt: skip
    nxt = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    start = dt.datetime.combine(first, dt.time(), ctx.zone).astimezone(dt.UTC)
    end = dt.datetime.combine(nxt, dt.time(), ctx.zone).astimezone(dt.UTC)
    return ReportPeriod(
        month=text,
        first_day=first,
        last_day=nxt - dt.timedelta(days=1),
        start=start,
        end=end,
        as_of=min(now, end),
        zone=ctx.zone,
    )


def collect_figures(
    ctx: KioskContext, actor: Actor, period: ReportPeriod, reports: Iterable[str] | None = None
) -> list[ReportFigure]:
    """Every plugin's figures for ``period`` (only those of ``reports`` when given), in report
    order. Managers only: the figures are the estate's business."""
    from kiosk.identity import require_role

    require_role(actor, "report", "manager")
    wanted = set(reports) if reports is not None else None
    if ctx.plugins is None:
        return []
    figures = ctx.plugins.call_flat("kiosk_report_figures", ctx=ctx, period=period)
    chosen = [f for f in figures if wanted is None or f.report in wanted]
    return sorted(chosen, key=lambda f: (f.order, f.report, f.key))


def format_value(value: float | None, unit: str) -> str:
    """A figure's number as a table shows it: "-" for none, whole numbers without decimals,
    rates with one decimal and ``%``."""
    if value is None:
        return "-"
    text = str(int(value)) if float(value).is_integer() else f"{value:.1f}"
    return f"{text}%" if unit == "%" else text


def figure_table(figure: ReportFigure) -> tuple[list[str], list[list[str]]]:
    """The figure as a table: a header (an empty corner, then the series' labels) and one row
    per category. The chart's page and the desk's tab both show it."""
    header = [""] + [s.label for s in figure.series]
    rows = [
        [category] + [format_value(_value(s.values, i), figure.unit) for s in figure.series]
        for i, category in enumerate(figure.categories)
    ]
    return header, rows


def _value(values: tuple[float | None, ...], i: int) -> float | None:
    return values[i] if i < len(values) else None


# -- drawing ---------------------------------------------------------------------------------


def cjk_font() -> str | None:
    """The name of an installed font with Chinese glyphs (Noto Sans CJK first), or None."""
    from matplotlib import font_manager

    found = _known_cjk(font_manager)
    if found is None:
        # Installed after matplotlib cached its font list: add the font files themselves.
        for path in font_manager.findSystemFonts():
            if any(mark in path for mark in ("CJK", "wqy", "DroidSansFallback")):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        found = _known_cjk(font_manager)
    return found


def _known_cjk(font_manager: Any) -> str | None:
    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in names:
            return name
    return next((n for n in sorted(names) if "CJK" in n), None)


def _style() -> Any:
    font = cjk_font()
    if font is None and not _NO_FONT_LOGGED:
        _NO_FONT_LOGGED.append(True)
        log.warning("no CJK font found (install fonts-noto-cjk): Chinese labels may not show")
    families = ([font] if font else []) + ["DejaVu Sans"]
    return {
        "font.family": "sans-serif",
        "font.sans-serif": families,
        "axes.unicode_minus": False,
        "text.parse_math": False,  # a "$" in a label is text, not mathtext
        "svg.fonttype": "none",
    }


def figure_png(figure: ReportFigure) -> bytes:
    """``figure`` drawn as a PNG (matplotlib, Agg backend; no global pyplot state)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_style()), warnings.catch_warnings():
        # Without a CJK font (logged once by _style) each missing glyph would warn again.
        warnings.filterwarnings("ignore", "Glyph .* missing from font", UserWarning)
        fig = Figure(figsize=(6.4, 3.4), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        _draw(ax, figure)
        if figure.unit:
            ax.set_ylabel(figure.unit)
        values = [v for s in figure.series for v in s.values if v is not None]
        if figure.unit == "%":
            ax.set_ylim(0, 105)
        else:  # counts: whole numbers from 0
            from matplotlib.ticker import MaxNLocator

            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            tops = values
            if figure.kind == "stacked":
                tops = [sum(_value(s.values, i) or 0.0 for s in figure.series)
                        for i in range(len(figure.categories))]  # fmt: skip
            ax.set_ylim(0, max([1.0, *tops]) * 1.15)
        if not values:
            ax.text(0.5, 0.5, _("Nothing measured"), transform=ax.transAxes, ha="center",
                    va="center", color="#777", fontsize=12)  # fmt: skip
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", alpha=0.3)
        if len(figure.series) > 1:
            ax.legend(fontsize=8, frameon=False, loc="best")
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png")
    return out.getvalue()


def _draw(ax: Any, figure: ReportFigure) -> None:
    positions = list(range(len(figure.categories)))
    count = max(1, len(figure.series))
    bottoms = [0.0] * len(positions)
    for n, series in enumerate(figure.series):
        color = PALETTE[n % len(PALETTE)]
        values = [_value(series.values, i) for i in positions]
        if figure.kind == "line":
            ys = [float("nan") if v is None else v for v in values]
            ax.plot(positions, ys, marker="o", color=color, label=series.label)
            continue
        heights = [v or 0.0 for v in values]
        if figure.kind == "stacked":
            ax.bar(positions, heights, 0.6, bottom=bottoms, color=color, label=series.label)
            bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
            continue
        width = 0.8 / count
        xs = [p - 0.4 + width * (n + 0.5) for p in positions]
        bars = ax.bar(xs, heights, width, color=color, label=series.label)
        # A rate's 0% is a result; a count's 0 and "nothing measured" are left unlabelled.
        shown = [v is not None and (v != 0 or figure.unit == "%") for v in values]
        labels = [
            format_value(v, figure.unit) if s else "" for v, s in zip(values, shown, strict=True)
        ]
        ax.bar_label(bars, labels=labels, fontsize=8)
    ax.set_xticks(positions, list(figure.categories))
    if len(positions) > 6:
        ax.tick_params(axis="x", labelrotation=30)


STYLE = """
body { font-family: "Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", sans-serif;
       margin: 24px; color: #222; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
.meta { color: #555; margin: 0 0 16px; }
section { border-top: 1px solid #ddd; padding: 12px 0; }
h2 { font-size: 17px; margin: 0 0 8px; }
.row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
img { max-width: 100%; }
table { border-collapse: collapse; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 3px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f2f4f7; }
.note { color: #555; font-size: 13px; margin: 6px 0 0; }
"""


def render_html(
    figures: list[ReportFigure], period: ReportPeriod, estate: str, staff: str, title: str
) -> str:
    """One self-contained HTML page: every figure's chart (a base64 PNG) beside its table."""
    esc = html.escape
    lang = "zh-CN" if language() == "zh_CN" else language().replace("_", "-")
    parts = [
        "<!doctype html>",
        f'<html lang="{esc(lang)}"><head><meta charset="utf-8">',
        f"<title>{esc(title)} {esc(period.month)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{esc(estate)} · {esc(title)} · {esc(period.month)}</h1>",
        '<p class="meta">'
        + esc(
            _("{first} to {last}, figures as of {as_of}; for {staff}").format(
                first=period.first_day.isoformat(),
                last=period.last_day.isoformat(),
                as_of=period.as_of.astimezone(period.zone).strftime("%Y-%m-%d %H:%M"),
                staff=staff,
            )
        )
        + "</p>",
    ]
    if not figures:
        parts.append(f"<p>{esc(_('No figures for this report.'))}</p>")
    for figure in figures:
        data = base64.b64encode(figure_png(figure)).decode("ascii")
        header, rows = figure_table(figure)
        table = ["<table><thead><tr>"]
        table += [f"<th>{esc(h)}</th>" for h in header]
        table.append("</tr></thead><tbody>")
        for row in rows:
            table.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
        table.append("</tbody></table>")
        parts += [
            f'<section id="{esc(figure.key)}"><h2>{esc(figure.title)}</h2><div class="row">',
            f'<img alt="{esc(figure.title)}" src="data:image/png;base64,{data}">',
            "".join(table),
            "</div>",
        ]
        if figure.note:
            parts.append(f'<p class="note">{esc(figure.note)}</p>')
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


# -- the command ----------------------------------------------------------------------------

REPORT_TITLES = {
    "": N_("Manager's monthly report"),
    "repairs": N_("Repairs and complaints report"),
    "parcels": N_("Parcels report"),
    "umbrellas": N_("Umbrellas report"),
    "parking": N_("Parking rentals report"),
}


def write_report(
    ctx: KioskContext,
    actor: Actor,
    path: str,
    month: str | None = None,
    report: str = "",
) -> list[ReportFigure]:
    """Write the HTML report of ``month`` to ``path``: every plugin's figures, or ``report``'s
    alone (a plugin's name). Returns the figures drawn."""
    period = report_period(ctx, month)
    figures = collect_figures(ctx, actor, period, [report] if report else None)
    estate = ctx.settings.estate.name if language() == "zh_CN" else ctx.settings.estate.name_en
    title = _(REPORT_TITLES.get(report, REPORT_TITLES[""]))
    page = render_html(figures, period, estate, actor.name, title)
    try:
        with open(path, "w", encoding="utf-8") as out:
            out.write(page)
    except OSError as exc:
        raise Refused("report.write", "Cannot write the report to {path}: {reason}.",
                      path=path, reason=exc.strerror or str(exc)) from None  # fmt: skip
    return figures
