"""The PDF renderer serves the app's static files and nothing else."""

from io import BytesIO

from pypdf import PdfReader

from app.services.pdf import StaticOnlyFetcher, render_pdf


def test_pdf_renders_text_and_own_stylesheet():
    fetcher = StaticOnlyFetcher()
    pdf = render_pdf('<link rel="stylesheet" href="/static/clubhouse.css"><h1>Hallo Jörg</h1>', fetcher)
    text = PdfReader(BytesIO(pdf)).pages[0].extract_text()
    assert "Hallo Jörg" in text
    assert fetcher.refused == []


def test_pdf_refuses_local_files_and_other_hosts(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    fetcher = StaticOnlyFetcher()
    html = (
        f'<img src="file://{secret}"><img src="http://127.0.0.1:9/x.png">'
        f'<link rel="stylesheet" href="file://{secret}"><iframe src="file://{secret}"></iframe>'
        '<img src="/static/../../wsgi.py"><p>done</p>'
    )
    pdf = render_pdf(html, fetcher)
    text = PdfReader(BytesIO(pdf)).pages[0].extract_text()
    assert "TOPSECRET" not in text and "done" in text
    assert any(url.startswith("file:") for url in fetcher.refused)
    assert any(url.startswith("http://127.0.0.1") for url in fetcher.refused)
