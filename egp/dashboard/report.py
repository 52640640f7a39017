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


# Attempts at exporting the PNG files: kaleido's page sometimes is not ready when it is first called on a
# loaded machine ("kaleido_scopes is not defined"); a fresh browser then succeeds.
PNG_ATTEMPTS = 3


def png_figures(data: dict[str, Any], directory: Path) -> list[Path]:
    """Write each figure of `data` as DIRECTORY/<run id>-<figure>.png (one browser for all of them);
    EGPError if the image exporter is not installed or cannot run."""
    try:
        import kaleido
    except ImportError:
        raise EGPError("--png needs kaleido: install the extra with pip install 'egp[dashboard]'") from None
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{data['id'][:12]}-{name}.png" for name in data["figures"]]
    specs = [
        {"fig": figure, "path": path, "opts": {"format": "png", "width": 900, "height": 420}}
        for figure, path in zip(data["figures"].values(), paths, strict=True)
    ]
    message = ""
    for _ in range(PNG_ATTEMPTS):
        try:
            # mathjax=False: kaleido's page would otherwise load MathJax from a CDN (the plots use no TeX).
            kaleido.write_fig_from_object_sync(specs, kopts={"mathjax": False}, cancel_on_error=True)
            return paths
        except Exception as error:  # kaleido raises its own types (no browser, a browser that died)
            message = " ".join(str(error).split())[:300]
    raise EGPError(f"--png: Plotly could not export an image: {message}")
