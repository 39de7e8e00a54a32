"""How fast this machine runs plain Python right now: one figure to put beside a suite's time.

The machine's speed moves by up to three times between hours and days (docs/benchmarks.md), so a
suite time means little without it. The loop is fixed and touches neither the disk nor a
database: `python bench/machine_speed.py` prints the best of three rounds, in milliseconds per
pass. Run it with the machine otherwise idle, just before or after the suite.
"""

import timeit


def main() -> None:
    rounds = timeit.repeat("sum(i * i for i in range(1_000_000))", number=5, repeat=3)
    print(f"machine speed: {min(rounds) / 5 * 1000:.0f} ms per pass (best of 3 rounds of 5)")


if __name__ == "__main__":
    main()
