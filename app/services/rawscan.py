"""Count byte patterns in files, run as a child process (`storage.scan_files` starts it).

Why a process of its own: POSIX drops every lock a process holds on a file as soon as that
process closes *any* descriptor of the file. Reading a live SQLite database, its WAL or its
shared-memory file from the portal's process would release the locks its SQLite connections
hold, and the next connection then finds the database in a state it reports as a disk I/O
error (or worse). The child opens and closes the files; the portal's locks stay whole.

Input on stdin (never argv: the patterns are an erased member's identifiers), JSON:
{"paths": [...], "sniff": [...], "needles": [...hex...], "block": N}. `sniff` paths are kept only
when they start as an SQLite database or WAL. Output on stdout, JSON: one entry per file kept,
{"path", "bytes", "counts": [per needle]}. Standard library only, so it starts fast.
"""

import json
import sys

SQLITE_MAGIC = b"SQLite format 3\x00"
WAL_MAGICS = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")


def _is_sqlite(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError:
        return False
    return head == SQLITE_MAGIC or head[:4] in WAL_MAGICS


def scan(paths, sniff, needles, block):
    overlap = max((len(n) for n in needles), default=1) - 1
    results = []
    for path in [*paths, *(p for p in sniff if _is_sqlite(p))]:
        counts = [0] * len(needles)
        size = 0
        try:
            with open(path, "rb") as handle:
                tail = b""
                while True:
                    chunk = handle.read(block)
                    if not chunk:
                        break
                    size += len(chunk)
                    data = tail + chunk.lower()
                    for i, needle in enumerate(needles):
                        # Only matches that end inside the new chunk: none is counted twice across the overlap.
                        counts[i] += data.count(needle) - (tail.count(needle) if tail else 0)
                    tail = data[-overlap:] if overlap else b""
        except FileNotFoundError:
            continue
        results.append({"path": path, "bytes": size, "counts": counts})
    return results


def main() -> None:
    job = json.load(sys.stdin)
    needles = [bytes.fromhex(n) for n in job["needles"]]
    json.dump(scan(job["paths"], job.get("sniff", []), needles, int(job.get("block", 16 << 20))), sys.stdout)


if __name__ == "__main__":
    main()
