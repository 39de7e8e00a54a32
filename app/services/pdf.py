"""HTML to PDF with WeasyPrint, fetching nothing but the app's own static files.

Text typed by staff or members ends up in letters and exports. A URL fetcher that only
serves app/static means such text can never make the PDF read a local file (file:) or
call out to another host (http:, https:, ftp:, data: with odd payloads...).
"""

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


class StaticOnlyFetcher:
    """Serves files under app/static for the placeholder host; refuses every other URL.

    The rule is kept apart from WeasyPrint's fetcher class so that importing the portal does
    not load WeasyPrint (about 0.7 s of every process start: the server, the CLI, the worker).
    """

    def __init__(self):
        self.refused: list[str] = []

    def resolve(self, url: str) -> tuple[bytes, str]:
        """The body and MIME type of an allowed URL; raises ValueError (and records it) for any other."""
        if url.startswith(STATIC_PREFIX):
            relative = url[len(STATIC_PREFIX):].split("?", 1)[0].split("#", 1)[0]
            path = (STATIC_DIR / relative).resolve()
            if path.is_file() and STATIC_DIR in path.parents:
                return path.read_bytes(), mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self.refused.append(url)
        log.warning("PDF renderer refused a resource URL (scheme %s)", url.split(":", 1)[0][:10])
        raise ValueError("resource not allowed in generated PDFs")


def _weasyprint_fetcher(rule: StaticOnlyFetcher):
    """WeasyPrint's fetcher, asking the rule for every URL (https only, no redirects)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class _Fetcher(URLFetcher):
        def __init__(self):
            super().__init__(allowed_protocols=("https",), allow_redirects=False)

        def fetch(self, url, headers=None):
            body, mime = rule.resolve(url)
            return URLFetcherResponse(url, body=body, headers={"Content-Type": mime})

    return _Fetcher()


def render_pdf(html: str, fetcher: StaticOnlyFetcher | None = None) -> bytes:
    """The PDF bytes for an HTML document (rendered in memory, never written to disk)."""
    from weasyprint import HTML  # loaded on the first PDF, not at every process start

    rule = fetcher or StaticOnlyFetcher()
    buffer = BytesIO()
    HTML(string=html, base_url=BASE_URL, url_fetcher=_weasyprint_fetcher(rule)).write_pdf(buffer)
    return buffer.getvalue()
