"""`egp report`'s output: one self-contained HTML file of a run or job (its summary, settings, plots and best
program, with Plotly.js inlined so the file opens offline, e.g. attached to a paper or a ticket), and the
plots as PNG files through Plotly's image export (kaleido) where that is installed."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from egp.config import display_url
from egp.errors import EGPError

HERE = Path(__file__).resolve().parent


def html_report(data: dict[str, Any], url: str) -> str:
    """The report of a run page's `data` (egp.dashboard.pages.run_page) from the Gene Pool at `url`."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from egp.dashboard.render import install_filters

    environment = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape())
    install_filters(environment)
    plotly_js = (resources.files("plotly") / "package_data" / "plotly.min.js").read_text(encoding="utf-8")
    # Inlined in a <script>: a "</script" inside the bundle would end it early.
    plotly_js = plotly_js.replace("</script", "<\\/script")
    css = (HERE / "static" / "dashboard.css").read_text(encoding="utf-8")
    from markupsafe import Markup

    return environment.get_template("report.html").render(
        r=data,
        gene_pool=display_url(url),
        plotly_js=Markup(plotly_js),
        css=Markup(css),
        written=datetime.now(UTC).isoformat(),
    )


def png_figures(data: dict[str, Any], directory: Path) -> list[Path]:
    """Write each figure of `data` as DIRECTORY/<run id>-<figure>.png; EGPError if the image exporter is
    not installed or cannot run."""
    try:
        import plotly.io as pio
    except ImportError:
        raise EGPError("--png needs plotly: install the extra with pip install 'egp[dashboard]'") from None
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, figure in data["figures"].items():
        path = directory / f"{data['id'][:12]}-{name}.png"
        try:
            pio.write_image(figure, str(path), format="png", width=900, height=420)
        except Exception as error:  # kaleido raises its own types (no browser, a browser that died)
            message = " ".join(str(error).split())[:300]
            raise EGPError(f"--png: Plotly could not export an image: {message}") from None
        written.append(path)
    return written
