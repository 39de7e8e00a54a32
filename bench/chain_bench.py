"""Chain-scale figures (issue 18), each as a ratio against a baseline measured in the same run.

    make bench                                   # all sections, appended to docs/benchmarks.md
    .venv/bin/python bench/chain_bench.py --only search,member,dashboard
    .venv/bin/python bench/chain_bench.py --only wrk --duration 10

The database is bench/chain_data.py's (100,000 members, about 10 million visits; built once,
then reused). The machine is shared, so every figure is put next to a baseline taken in the
same run, one right after the other:

- search: GET /members?q=... in process (p50/p95 of N runs) against the raw indexed query
  (the FTS5 MATCH with the page's COUNT and its 25 rows, through the driver) plus a bare Jinja
  render of those 25 rows;
- member: GET /members/<n> for the member with 1,000 visits (each tab) against the SELECTs that
  page ran, captured from the page itself and replayed through the driver;
- dashboard: GET / (every panel), with each panel's time and number of queries;
- erasure: on a copy of the database, in a child process with its own instance folder: the
  engine (anonymise, commit, checkpoint), the row scan (`erasure.verify`), the raw-file scan
  (`erasure.verify_files`) against `grep -c` of the member's email over the same files;
- wrk: gunicorn with 2 workers, `wrk -t2 -c8 -d<duration>s`, logged in, on the member list and
  a member page, against bench/minimal_app.py on the same gunicorn;
- startup: `make run DEMO=0` on an installed checkout (migrated and bootstrapped by an earlier run)
  until /login answers 200, against the minimal app's startup; with the CPU time of make and the
  processes it started (on a loaded machine the wall clock mostly measures the others).
"""

import argparse
import json
import os
import platform
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import chain_data  # noqa: E402

SECRET = "bench-only-secret-key-for-loopback-runs-0123456789"  # noqa: S105 - a throwaway bench database
USER_AGENT = "clubhouse-bench"
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
FLASK = str(Path(sys.executable).with_name("flask"))


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def measure(fn, runs: int) -> list[float]:
    fn()  # warm caches
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(samples: list[float]) -> dict:
    return {"p50": statistics.median(samples), "p95": percentile(samples, 95), "n": len(samples)}


# --- the app, a user with every permission, a session cookie ---------------------------------


def bench_env(path: Path) -> dict:
    env = dict(os.environ)
    env.update(DATABASE_URL=f"sqlite:///{path}", SECRET_KEY=SECRET, CLUBHOUSE_INSTANCE=str(path.parent / "instance"),
               GUNICORN_ACCESS_LOG="/dev/null", PYTHONPATH=str(ROOT))
    return env


def use_database(path: Path) -> None:
    """Point the configuration at the bench database (before app.config is first imported)."""
    os.environ.update({k: v for k, v in bench_env(path).items() if k in ("DATABASE_URL", "SECRET_KEY", "CLUBHOUSE_INSTANCE")})


def make_app(path: Path):
    use_database(path)
    from app import create_app

    return create_app()


def bench_user(app):
    """A staff account holding every permission (no two-factor role: the bench logs in directly)."""
    from app.auth.permissions import CODES
    from app.extensions import db
    from app.models import Role, User

    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == "bench"))
        if user is None:
            role = Role(name="bench-all")
            role.set_permissions(CODES)
            user = User(username="bench", full_name="Bench", password_hash="!", roles=[role])
            db.session.add(user)
            db.session.commit()
        return user.id


def session_cookie(app, user_id: int) -> str:
    """The Cookie header of a fresh session for the user, as the login form would make it."""
    from flask import session

    from app.blueprints.auth.routes import start_session
    from app.extensions import db
    from app.models import User

    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": USER_AGENT}
    with app.test_request_context(environ_base=environ):
        start_session(db.session.get(User, user_id))
        value = app.session_interface.get_signing_serializer(app).dumps(dict(session))
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


def client_for(app, cookie: str):
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR="127.0.0.1", HTTP_USER_AGENT=USER_AGENT)
    name, value = cookie.split("=", 1)
    client.set_cookie(name, value)
    return client


def get_ok(client, url: str):
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    return response


# --- sections --------------------------------------------------------------------------------


def section_search(app, client, stamp, runs: int) -> list[dict]:
    """The search page against the raw FTS query plus a bare render of its 25 rows."""
    from jinja2 import Environment

    from app.extensions import db

    bare = Environment(autoescape=True).from_string(
        "<table>{% for r in rows %}<tr><td>{{ r[0] }}</td><td>{{ r[1] }}, {{ r[2] }}</td><td>{{ r[3] }}</td></tr>"
        "{% endfor %}</table>")
    results = []
    with app.app_context():
        path = db.engine.url.database
    raw = sqlite3.connect(path)
    from app.services.search_index import FTS_TABLES

    # The index's shards, each asked (what the search asks).
    matching = " UNION ALL ".join(f"SELECT rowid FROM {name} WHERE {name} MATCH :phrase" for name in FTS_TABLES)
    for term in ("jorg", "jan", "qqxxzz"):
        phrase = {"phrase": '"' + term + '"'}
        count_sql = f"SELECT count(*) FROM members WHERE status = 'active' AND id IN ({matching})"  # noqa: S608
        page_sql = ("SELECT member_number, last_name, first_name, city FROM members WHERE status = 'active' AND id IN "  # noqa: S608
                    f"({matching}) ORDER BY last_name, first_name, member_number LIMIT 25")

        def baseline(phrase=phrase, count_sql=count_sql, page_sql=page_sql):
            raw.execute(count_sql, phrase).fetchone()
            bare.render(rows=raw.execute(page_sql, phrase).fetchall())

        def page(term=term):
            get_ok(client, f"/members?q={term}")

        base, real = summary(measure(baseline, runs)), summary(measure(page, runs))
        results.append({"figure": f"search page '{term}'", "value": real, "baseline": base,
                        "baseline_label": "raw FTS query (COUNT + 25 rows) + bare render",
                        "ratio": real["p95"] / base["p95"], "goal": "p95 <= 3x"})
    raw.close()
    return results


def _captured_selects(app, client, url: str) -> list[tuple[str, tuple]]:
    from sqlalchemy import event

    from app.extensions import db

    statements = []

    def capture(_conn, _cursor, statement, parameters, _context, _executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, tuple(parameters) if parameters else ()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        get_ok(client, url)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return statements


def section_member(app, client, stamp, runs: int) -> list[dict]:
    """Each tab of the member page (1,000 visits) against the SELECTs it ran, replayed raw."""
    from app.extensions import db

    with app.app_context():
        path = db.engine.url.database
    number = stamp["measured_member_number"]
    results = []
    raw = sqlite3.connect(path)
    for tab in ("profile", "visits", "subscriptions", "invoices"):
        url = f"/members/{number}?tab={tab}"
        statements = _captured_selects(app, client, url)

        def baseline(statements=statements):
            for sql, params in statements:
                raw.execute(sql, params).fetchall()

        def page(url=url):
            get_ok(client, url)

        base, real = summary(measure(baseline, runs)), summary(measure(page, runs))
        results.append({"figure": f"member page, tab {tab} ({len(statements)} SELECTs)", "value": real,
                        "baseline": base, "baseline_label": "the same SELECTs through the driver",
                        "ratio": real["p95"] / base["p95"], "goal": "p95 <= 3x"})
    raw.close()
    return results


def section_dashboard(app, client, stamp, runs: int) -> list[dict]:
    """GET / with every panel; each panel's provider timed and its queries counted."""
    from sqlalchemy import event

    from app.blueprints.main.panels import Panel
    from app.extensions import db

    panels = app.extensions["clubhouse_panels"]
    timings: dict[str, list[float]] = {}
    queries: dict[str, int] = {}
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    def wrap(panel):
        def provider(user):
            before, started = counter["n"], time.perf_counter()
            try:
                return panel.provider(user)
            finally:
                timings.setdefault(panel.template, []).append((time.perf_counter() - started) * 1000)
                queries[panel.template] = counter["n"] - before

        return Panel(panel.template, panel.permission, provider, panel.order)

    with app.app_context():
        engine = db.engine
    original = list(panels)
    panels[:] = [wrap(p) for p in original]
    event.listen(engine, "before_cursor_execute", count)
    try:
        page = summary(measure(lambda: get_ok(client, "/"), runs))
    finally:
        event.remove(engine, "before_cursor_execute", count)
        panels[:] = original
    results = [{"figure": "dashboard, whole page", "value": page, "goal": "< 50 ms"}]
    for template, samples in timings.items():
        results.append({"figure": f"panel {template} ({queries[template]} queries)", "value": summary(samples[1:]),
                        "goal": "one query per panel"})
    return results


def section_erasure(path: Path, stamp) -> list[dict]:
    """Run the erasure figures in a child process on a copy of the database (its own instance folder)."""
    work = path.parent / "erasure"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    copy = work / "chain.db"
    shutil.copyfile(path, copy)
    # On disk before the clock starts: otherwise the erasure's first commit (its fdatasync) waits
    # for the kernel to write back the whole fresh copy, 1.5 GB, about 2 s of the engine's figure.
    with copy.open("rb") as written:
        os.fsync(written.fileno())
    env = bench_env(copy)
    out = subprocess.run([PYTHON, __file__, "--erasure-child", str(copy), str(stamp["measured_member_number"])],
                         env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    shutil.rmtree(work, ignore_errors=True)
    return [
        {"figure": "one erasure: engine (anonymise, commit, checkpoint)", "value": {"p50": figures["engine_ms"]}},
        {"figure": "one erasure: row scan (erasure.verify)", "value": {"p50": figures["row_scan_ms"]},
         "baseline": {"p50": figures["row_scan_before_ms"]}, "baseline_label": "the same scan before this change",
         "goal": "engine + row scan < 2 s"} if figures.get("row_scan_before_ms") else
        {"figure": "one erasure: row scan (erasure.verify)", "value": {"p50": figures["row_scan_ms"]},
         "goal": "engine + row scan < 2 s"},
        {"figure": f"raw-file scan ({figures['mb']:.0f} MB, {figures['patterns']} patterns)",
         "value": {"p50": figures["file_scan_ms"]}, "baseline": {"p50": figures["grep_ms"]},
         "baseline_label": "grep -c of the email over the same files",
         "ratio": figures["file_scan_ms"] / figures["grep_ms"], "goal": "<= 1.5x"},
    ]


def erasure_child(copy: Path, number: int) -> None:
    from app.extensions import db
    from app.services import erasure, storage
    from app.services.members import find_by_number

    app = make_app(copy)
    with app.app_context():
        member = find_by_number(number)
        identifiers = erasure.identifiers_of(member)
        started = time.perf_counter()
        erasure.erase_member(member, "anonymise", None)
        db.session.commit()
        engine_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        erasure.verify(identifiers)
        row_scan_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        erasure.verify_files(identifiers)
        file_scan_ms = (time.perf_counter() - started) * 1000
        files = [str(p) for p in storage.sqlite_files() if p.exists()]
        email = identifiers.get("email", ["nobody@example.nl"])[0]
        started = time.perf_counter()
        subprocess.run(["grep", "-c", "-a", "-F", email, *files], capture_output=True, check=False)  # noqa: S603,S607
        grep_ms = (time.perf_counter() - started) * 1000
        patterns = sum(len(v) for k, v in identifiers.items() if not k.startswith("_"))
        mb = sum(Path(f).stat().st_size for f in files) / 1e6
    print(json.dumps({"engine_ms": engine_ms, "row_scan_ms": row_scan_ms, "file_scan_ms": file_scan_ms,
                      "grep_ms": grep_ms, "patterns": patterns, "mb": mb}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, timeout: float = 60) -> float:
    import urllib.request

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def _gunicorn(app_path: str, env: dict, port: int, workers: int = 2, root: Path = ROOT):
    process = subprocess.Popen(  # noqa: S603 - our own gunicorn on loopback
        [GUNICORN, "-c", str(root / "gunicorn.conf.py"), "-w", str(workers), "-b", f"127.0.0.1:{port}", app_path],
        env=dict(env, PYTHONPATH=str(root)), cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process


def _wrk(url: str, cookie: str | None, duration: int) -> float:
    command = ["wrk", "-t2", "-c8", f"-d{duration}s", "-H", f"User-Agent: {USER_AGENT}"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout  # noqa: S603
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        raise SystemExit(f"wrk saw error answers from {url}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def section_wrk_compare(path: Path, app, stamp, duration: int, other: Path, rounds: int = 2) -> list[dict]:
    """This checkout against another (an older commit's tree), interleaved in one run, with the baseline."""
    cookie = session_cookie(app, bench_user(app))
    env = bench_env(path)
    ports = {"base": _free_port(), "this": _free_port(), "other": _free_port()}
    servers = [_gunicorn("bench.minimal_app:app", env, ports["base"]), _gunicorn("wsgi:app", env, ports["this"]),
               _gunicorn("wsgi:app", env, ports["other"], root=other)]
    number = stamp["measured_member_number"]
    rates: dict[str, list[float]] = {}
    try:
        _wait_for(f"http://127.0.0.1:{ports['base']}/")
        for name in ("this", "other"):
            _wait_for(f"http://127.0.0.1:{ports[name]}/healthz")
        for _ in range(rounds):
            rates.setdefault("base", []).append(_wrk(f"http://127.0.0.1:{ports['base']}/", None, duration))
            for name in ("other", "this"):
                for page, url in (("list", "/members"), ("member", f"/members/{number}")):
                    rates.setdefault(f"{name} {page}", []).append(
                        _wrk(f"http://127.0.0.1:{ports[name]}{url}", cookie, duration))
    finally:
        for process in servers:
            process.terminate()
            process.wait(timeout=30)
    base = statistics.mean(rates["base"])
    results = []
    for name, label in (("other", f"before ({other.name})"), ("this", "this checkout")):
        for page, what in (("list", "member list"), ("member", "member page, 1,000 visits")):
            rate = statistics.mean(rates[f"{name} {page}"])
            results.append({"figure": f"throughput, {what}, {label} (req/s)", "value": {"rate": rate},
                            "baseline": {"rate": base}, "baseline_label": "minimal Flask app, 25-row template",
                            "ratio": rate / base, "goal": ">= 50 %" if page == "list" else ""})
    return results


def section_wrk(path: Path, app, stamp, duration: int) -> list[dict]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian package wrk; `make bench` installs it as root)")
    user_id = bench_user(app)
    cookie = session_cookie(app, user_id)
    env = bench_env(path)
    app_port, base_port = _free_port(), _free_port()
    server = _gunicorn("wsgi:app", env, app_port)
    baseline = _gunicorn("bench.minimal_app:app", env, base_port)
    try:
        _wait_for(f"http://127.0.0.1:{app_port}/healthz")
        _wait_for(f"http://127.0.0.1:{base_port}/")
        number = stamp["measured_member_number"]
        rates = {}
        # Interleaved: baseline, list, baseline, member page; the baseline is the mean of its two runs.
        rates["base1"] = _wrk(f"http://127.0.0.1:{base_port}/", None, duration)
        rates["list"] = _wrk(f"http://127.0.0.1:{app_port}/members", cookie, duration)
        rates["base2"] = _wrk(f"http://127.0.0.1:{base_port}/", None, duration)
        rates["member"] = _wrk(f"http://127.0.0.1:{app_port}/members/{number}", cookie, duration)
    finally:
        for process in (server, baseline):
            process.terminate()
            process.wait(timeout=30)
    base = (rates["base1"] + rates["base2"]) / 2
    return [
        {"figure": "throughput: member list (req/s)", "value": {"rate": rates["list"]}, "baseline": {"rate": base},
         "baseline_label": "minimal Flask app, 25-row template", "ratio": rates["list"] / base, "goal": ">= 50 %"},
        {"figure": "throughput: member page, 1,000 visits (req/s)", "value": {"rate": rates["member"]},
         "baseline": {"rate": base}, "baseline_label": "minimal Flask app, 25-row template",
         "ratio": rates["member"] / base},
    ]


def _make_run(env: dict, port: int, root: Path = ROOT) -> tuple[float, float]:
    """`make run DEMO=0` until /login answers 200: (wall ms, CPU ms of make and everything it started)."""
    import resource
    import signal

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(["make", "run", f"PORT={port}", "DEMO=0"], env=dict(env, PYTHONPATH=str(root)),  # noqa: S603,S607
                               cwd=root,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for(f"http://127.0.0.1:{port}/login")
        wall = (time.perf_counter() - started) * 1000
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    return wall, cpu


def section_sweep(repeat: int = 3) -> list[dict]:
    """The retention sweep against the hand-written SQL (bench/retention_bench.py: 100,000 ended members on
    fresh copies of its own database, the two sides alternating); the ratio of the fastest run of each."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "retention_bench.py"), "--repeat", str(repeat)],
                         cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    found = re.search(r"sweep best ([\d.]+)s / median ([\d.]+)s, hand-written best ([\d.]+)s / median ([\d.]+)s",
                      out.stdout)
    if found is None:
        raise SystemExit(out.stdout[-2000:] + out.stderr[-2000:])
    sweep_best, sweep_median, hand_best, hand_median = (float(x) * 1000 for x in found.groups())
    return [{"figure": "retention sweep, 100,000 ended members (bench/retention_bench.py)",
             "value": {"p50": sweep_median, "best": sweep_best}, "baseline": {"p50": hand_median, "best": hand_best},
             "baseline_label": "the same data change as hand-written SQL", "ratio": sweep_best / hand_best,
             "goal": "<= 2x (fastest runs)"}]


def section_startup(runs: int = 3, other: Path | None = None) -> list[dict]:
    """`make run` on an installed checkout (migrated and bootstrapped by an earlier run) to the first 200 on /login.

    With `other` (an older checkout whose .venv is this one's), its `make run` is timed too, the two
    alternating, each on an instance folder of its own."""
    trees = {"this": ROOT, **({"other": other} if other else {})}
    walls: dict[str, list[float]] = {name: [] for name in trees}
    cpus: dict[str, list[float]] = {name: [] for name in trees}
    base_samples = []
    with tempfile.TemporaryDirectory(prefix="clubhouse-startup-") as folder:
        envs = {}
        for name, root in trees.items():
            instance = Path(folder) / name
            instance.mkdir()
            envs[name] = dict(os.environ, CLUBHOUSE_INSTANCE=str(instance), DATABASE_URL=f"sqlite:///{instance}/clubhouse.db")
            envs[name].pop("SECRET_KEY", None)
            _make_run(envs[name], _free_port(), root)  # the first `make run` of a checkout: migrations, roles, the admin
        for _ in range(runs):
            for name, root in trees.items():
                wall, cpu = _make_run(envs[name], _free_port(), root)
                walls[name].append(wall)
                cpus[name].append(cpu)
    for _ in range(runs):
        port = _free_port()
        started = time.perf_counter()
        server = subprocess.Popen([FLASK, "--app", "bench.minimal_app", "run", "--host", "127.0.0.1", "--port", str(port)],  # noqa: S603
                                  env=dict(os.environ, PYTHONPATH=str(ROOT)), cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for(f"http://127.0.0.1:{port}/")
            base_samples.append((time.perf_counter() - started) * 1000)
        finally:
            server.terminate()
            server.wait(timeout=30)
    base = summary(base_samples)
    results = []
    for name in trees:
        label = "this checkout" if name == "this" else f"before ({other.name})"
        value = summary(walls[name])
        results.append({"figure": f"startup, {label}: `make run DEMO=0` on an installed checkout until /login answers 200",
                        "value": value, "baseline": base, "baseline_label": "minimal Flask app until / answers",
                        "ratio": value["p50"] / base["p50"], "goal": "< 5 s"})
        results.append({"figure": f"startup, {label}: CPU of `make run` and every process it started",
                        "value": summary(cpus[name]), "goal": "about the wall time on an idle machine"})
    return results


# --- output ----------------------------------------------------------------------------------


def _fmt(value: dict | None) -> str:
    if not value:
        return ""
    if "rate" in value:
        return f"{value['rate']:,.0f}/s"
    if "p95" in value:
        return f"{value['p50']:.1f} / {value['p95']:.1f} ms"
    return f"{value['p50']:.0f} ms"


def table(results: list[dict]) -> str:
    lines = ["| figure | measured (p50 / p95) | baseline | baseline (p50 / p95) | ratio | goal |",
             "|---|---:|---|---:|---:|---|"]
    for r in results:
        ratio = f"{r['ratio']:.2f}x" if "ratio" in r else ""
        lines.append(f"| {r['figure']} | {_fmt(r.get('value'))} | {r.get('baseline_label', '')} | "
                     f"{_fmt(r.get('baseline'))} | {ratio} | {r.get('goal', '')} |")
    return "\n".join(lines)


def record(results: list[dict], command: str, stamp: dict, note: str) -> None:
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    heading = (f"\n### `make bench` run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC{' (' + note + ')' if note else ''}\n\n"
               f"Database: SQLite {sqlite3.sqlite_version}, {stamp['members']:,} members, {stamp['visits']:,} visits "
               f"(bench/chain_data.py). Machine: {os.cpu_count()} cores, {platform.python_implementation()} "
               f"{platform.python_version()}, load average {load} at the end. Command: `{command}`\n\n")
    with open(ROOT / "docs" / "benchmarks.md", "a", encoding="utf-8") as out:
        out.write(heading + table(results) + "\n")


SECTIONS = ("search", "member", "dashboard", "erasure", "wrk", "startup", "sweep")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated: " + ", ".join(SECTIONS))
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--path", type=Path, default=chain_data.DEFAULT_PATH)
    parser.add_argument("--record", action="store_true", help="append the table to docs/benchmarks.md")
    parser.add_argument("--note", default="", help="a word on what this run measures (with --record)")
    parser.add_argument("--compare-tree", type=Path, default=None,
                        help="wrk: also serve this other checkout (e.g. `git archive` of main) and interleave")
    parser.add_argument("--erasure-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.erasure_child:
        use_database(Path(args.erasure_child[0]))
        erasure_child(Path(args.erasure_child[0]), int(args.erasure_child[1]))
        return
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    use_database(args.path)
    stamp = chain_data.ensure(args.path, args.members)
    app = make_app(args.path)
    user_id = bench_user(app)
    cookie = session_cookie(app, user_id)
    client = client_for(app, cookie)
    results = []
    for name in only:
        started = time.perf_counter()
        if name == "search":
            results += section_search(app, client, stamp, args.runs)
        elif name == "member":
            results += section_member(app, client, stamp, args.runs)
        elif name == "dashboard":
            results += section_dashboard(app, client, stamp, max(5, args.runs // 5))
        elif name == "erasure":
            results += section_erasure(args.path, stamp)
        elif name == "wrk" and args.compare_tree:
            results += section_wrk_compare(args.path, app, stamp, args.duration, args.compare_tree.resolve())
        elif name == "wrk":
            results += section_wrk(args.path, app, stamp, args.duration)
        elif name == "startup":
            results += section_startup(other=args.compare_tree.resolve() if args.compare_tree else None)
        elif name == "sweep":
            results += section_sweep()
        else:
            raise SystemExit(f"unknown section {name!r}")
        print(f"[{name}: {time.perf_counter() - started:.0f} s]", file=sys.stderr)
    print(table(results))
    if args.record:
        record(results, " ".join(["bench/chain_bench.py", *sys.argv[1:]]), stamp, args.note)


if __name__ == "__main__":
    main()
