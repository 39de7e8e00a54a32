"""The throughput baseline: a minimal Flask app rendering a 25-row table, served by the same gunicorn.

    .venv/bin/gunicorn -w 2 -b 127.0.0.1:8019 bench.minimal_app:app

No database, no session, no login: what Flask, Jinja and gunicorn cost for a page the size of
one page of the member list. bench/chain_bench.py measures the real pages against it.
"""

from flask import Flask, render_template_string

app = Flask(__name__)

ROWS = [{"number": 1000 + i, "name": f"Achternaam{i}, Voornaam", "city": "Utrecht", "status": "active"}
        for i in range(25)]

PAGE = """<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Members</title></head>
<body><main><h1>Members</h1><table><thead><tr><th>Number</th><th>Name</th><th>City</th><th>Status</th></tr></thead>
<tbody>{% for row in rows %}<tr><td><a href="/members/{{ row.number }}">{{ row.number }}</a></td>
<td>{{ row.name }}</td><td>{{ row.city }}</td><td>{{ row.status }}</td></tr>{% endfor %}</tbody></table></main></body></html>"""


@app.get("/")
def page():
    return render_template_string(PAGE, rows=ROWS)
