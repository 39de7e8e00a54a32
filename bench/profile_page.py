"""A CPU profile of one page on the chain-scale database: N test-client requests under cProfile.

    .venv/bin/python bench/profile_page.py /members 100
    .venv/bin/python bench/profile_page.py "/members/MEMBER?tab=visits" 60     # MEMBER: the member with 1,000 visits

Logged in as bench/chain_bench.py's user (every permission). Prints the CPU time per request
without the profiler first, then the profile on the process-time clock (waiting for a core on a
shared machine is not counted), sorted by cumulative and by own time.
"""

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import chain_bench  # noqa: E402
import chain_data  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("requests", type=int, nargs="?", default=100)
    parser.add_argument("--path", type=Path, default=chain_data.DEFAULT_PATH)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=50)
    args = parser.parse_args()
    chain_bench.use_database(args.path)
    stamp = chain_data.ensure(args.path, args.members)
    app = chain_bench.make_app(args.path)
    client = chain_bench.client_for(app, chain_bench.session_cookie(app, chain_bench.bench_user(app)))
    url = args.url.replace("MEMBER", str(stamp["measured_member_number"]))
    for _ in range(10):
        chain_bench.get_ok(client, url)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(args.requests):
        chain_bench.get_ok(client, url)
    print(f"{url}: {(time.process_time() - cpu) / args.requests * 1000:.2f} ms of CPU per request, "
          f"{(time.perf_counter() - wall) / args.requests * 1000:.2f} ms wall")
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(args.requests):
        chain_bench.get_ok(client, url)
    profile.disable()
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(args.lines)
    stats.sort_stats("tottime").print_stats(args.lines // 2)


if __name__ == "__main__":
    main()
