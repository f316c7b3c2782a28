"""HTML reports with embedded figures."""

from trainlab.report.html import (
    Section,
    escape,
    figure_html,
    figure_to_data_uri,
    render_page,
    table_html,
)

__all__ = ["Section", "escape", "figure_html", "figure_to_data_uri", "render_page", "table_html"]
