"""Self-contained HTML pages: sections of text, tables and embedded PNG figures.

Every report trainlab writes (a run's ``report.html``, the lab's report) is one file
with its figures embedded as base64 ``data:`` URIs, so it can be mailed or put on a
slide without its directory. A report is a list of :class:`Section`; any part of the
library can contribute sections.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

_STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
figure { display: inline-block; margin: .5rem 1rem .5rem 0; max-width: 100%; }
.table-wrap { overflow-x: auto; max-width: 100%; }
.groups { display: flex; flex-wrap: wrap; gap: 0 2rem; } .groups h3 { margin: .6rem 0 0; }
.headline { font-size: 1.3rem; } .facts td { text-align: left; }
@media (max-width: 640px) { body { margin: 1rem auto; padding: 0 .6rem; }
  table { font-size: .8rem; } th, td { padding: .2rem .35rem; } figure { margin: .4rem 0; } }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .85rem; color: #555; }
.ok { color: #0a7a28; font-weight: 600; } .bad { color: #b00020; font-weight: 600; }
.warn { background: #fff6e0; border-left: 4px solid #e0a000; padding: .4rem .8rem;
        margin: .4rem 0; }
code, pre { background: #f6f6f6; padding: .1rem .3rem; }
"""


@dataclass
class Section:
    """One titled part of a report: HTML ``body`` (already escaped where needed)."""

    title: str
    body: str
    anchor: str = field(default="")

    def __post_init__(self) -> None:
        if not self.anchor:
            self.anchor = "".join(c if c.isalnum() else "-" for c in self.title.lower()).strip("-")


def escape(text: Any) -> str:
    """HTML-escape ``str(text)``."""
    return html.escape(str(text))


def figure_to_data_uri(fig: Any, dpi: int = 110) -> str:
    """Render a matplotlib figure to a ``data:image/png;base64,...`` URI and close it."""
    import matplotlib.pyplot as plt  # heavy: imported when a figure is rendered

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def figure_html(fig: Any, caption: str = "", alt: str = "") -> str:
    """An embedded ``<figure>`` for a matplotlib figure (the figure is closed)."""
    uri = figure_to_data_uri(fig)
    alt_text = escape(alt or caption or "figure")
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{uri}" alt="{alt_text}">{cap}</figure>'


def table_html(header: Sequence[Any], rows: Iterable[Sequence[Any]], raw: bool = False) -> str:
    """A ``<table>``; cells are escaped unless ``raw`` (for cells that already hold HTML)."""
    cell = (lambda v: str(v)) if raw else escape
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return (f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def render_page(title: str, sections: Sequence[Section], subtitle: str = "") -> str:
    """The whole HTML document: a title, a table of contents and the sections in order."""
    toc = "".join(f'<li><a href="#{s.anchor}">{escape(s.title)}</a></li>' for s in sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>{escape(subtitle)}</p>" if subtitle else "",
        f"<nav><ol>{toc}</ol></nav>" if len(sections) > 1 else "",
    ]
    for s in sections:
        parts.append(f'<section id="{s.anchor}"><h2>{escape(s.title)}</h2>{s.body}</section>')
    parts.append("</body></html>")
    return "\n".join(parts)
