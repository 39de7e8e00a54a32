"""HTML to PDF with WeasyPrint, fetching nothing but the app's own static files.

Text typed by staff or members ends up in letters and exports. A URL fetcher that only
serves app/static means such text can never make the PDF read a local file (file:) or
call out to another host (http:, https:, ftp:, data: with odd payloads...).

WeasyPrint (with Pango through cffi) takes about a second to import, a third of the portal's
start: it is imported on the first PDF, not when the app starts (`StaticOnlyFetcher` is made
then too, as a subclass of WeasyPrint's fetcher).
"""

import functools
import logging
import mimetypes
from io import BytesIO
from pathlib import Path

STATIC_DIR = (Path(__file__).resolve().parent.parent / "static").resolve()
# Templates link static files as /static/...; resolved against this base they become
# clubhouse-static URLs, the only kind the fetcher serves.
BASE_URL = "https://clubhouse.invalid/"
STATIC_PREFIX = BASE_URL + "static/"

log = logging.getLogger(__name__)


@functools.cache
def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Serves files under app/static for the placeholder host; refuses every other URL."""

        def __init__(self):
            super().__init__(allowed_protocols=("https",), allow_redirects=False)
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            if url.startswith(STATIC_PREFIX):
                relative = url[len(STATIC_PREFIX):].split("?", 1)[0].split("#", 1)[0]
                path = (STATIC_DIR / relative).resolve()
                if path.is_file() and STATIC_DIR in path.parents:
                    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})
            self.refused.append(url)
            log.warning("PDF renderer refused a resource URL (scheme %s)", url.split(":", 1)[0][:10])
            raise ValueError("resource not allowed in generated PDFs")

    return StaticOnlyFetcher


def __getattr__(name: str):
    if name == "StaticOnlyFetcher":  # `from app.services.pdf import StaticOnlyFetcher` imports WeasyPrint then
        return _fetcher_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def render_pdf(html: str, fetcher=None) -> bytes:
    """The PDF bytes for an HTML document (rendered in memory, never written to disk)."""
    from weasyprint import HTML

    fetcher = fetcher or _fetcher_class()()
    buffer = BytesIO()
    HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).write_pdf(buffer)
    return buffer.getvalue()
