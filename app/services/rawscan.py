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

A count is the number of times the needle occurs in the file with ASCII letters folded to
lower case (the needles are lower case), counted from the left without overlaps as
`bytes.count` does. Two ways give that same count:
- with ripgrep (`rg`, Debian's package) on the PATH: one pass over all files for short
  anchors, one per needle, in every upper/lower spelling of their letters (ripgrep searches
  many literals at once at about the speed of one; it is slow for case-insensitive ones).
  Every occurrence of a needle contains its anchor, so only the bytes around the anchors
  ripgrep reports are read again and counted here. ripgrep gets its literals on stdin too.
- without it: every file read in blocks, folded once per block, one `bytes.count` per needle.
"""

import json
import os
import shutil
import subprocess  # noqa: S404 - ripgrep, no shell, its input on stdin
import sys

SQLITE_MAGIC = b"SQLite format 3\x00"
WAL_MAGICS = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")
ANCHOR_LENGTH = 8  # the longest anchor taken from a needle
ANCHOR_SPELLINGS = 16  # at most this many upper/lower spellings of one anchor
LETTERS = frozenset(b"abcdefghijklmnopqrstuvwxyz")


def _is_sqlite(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError:
        return False
    return head == SQLITE_MAGIC or head[:4] in WAL_MAGICS


def scan_blocks(paths, needles, block):
    """The counts by reading each file in blocks: one `bytes.count` per needle and block."""
    overlap = max((len(n) for n in needles), default=1) - 1
    results = []
    for path in paths:
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


def anchor(needle: bytes) -> bytes:
    """The part of the needle to search for: the longest window whose spellings stay few (fewest letters)."""
    for length in range(min(len(needle), ANCHOR_LENGTH), 0, -1):
        windows = [needle[i:i + length] for i in range(len(needle) - length + 1)]
        best = min(windows, key=lambda w: sum(b in LETTERS for b in w))
        if 2 ** sum(b in LETTERS for b in best) <= ANCHOR_SPELLINGS or length <= 3:
            return best
    return needle


def spellings(part: bytes) -> set[bytes]:
    """Every upper/lower spelling of the ASCII letters in part."""
    out = [b""]
    for byte in part:
        if byte in LETTERS:
            out = [s + bytes([byte]) for s in out] + [s + bytes([byte - 32]) for s in out]
        else:
            out = [s + bytes([byte]) for s in out]
    return set(out)


def _ripgrep_offsets(rg: str, paths, literals: set[bytes]) -> dict[str, list[tuple[int, int]]] | None:
    """Per file, (offset, length) of every anchor spelling ripgrep reports (non-overlapping matches).

    None when ripgrep reported an error: the caller then reads the files itself.
    """
    command = [rg, "--no-config", "--text", "--fixed-strings", "--case-sensitive", "--only-matching",
               "--byte-offset", "--no-line-number", "--with-filename", "--null", "--no-messages",
               "--file", "-", "--", *paths]
    found: dict[str, list[tuple[int, int]]] = {}
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,  # noqa: S603 - argv of our own
                          stderr=subprocess.DEVNULL, env={"LC_ALL": "C", "PATH": os.environ.get("PATH", "")}) as child:
        child.stdin.write(b"\n".join(sorted(literals)) + b"\n")
        child.stdin.close()
        for line in child.stdout:
            path, _, rest = line.rstrip(b"\n").partition(b"\x00")
            offset, _, match = rest.partition(b":")
            found.setdefault(os.fsdecode(path), []).append((int(offset), len(match)))
        status = child.wait()
    if status > 1:  # 0: found, 1: nothing found, 2: an error (say, a file that vanished meanwhile)
        return None
    return found


def scan_anchors(rg: str, paths, needles):
    """The counts with ripgrep finding the places to look (see the module's docstring)."""
    longest = max(len(n) for n in needles)
    literals = set().union(*(spellings(anchor(n)) for n in needles))
    present = [p for p in paths if os.path.exists(p)]
    offsets = _ripgrep_offsets(rg, present, literals) if present else {}  # no path at all: rg would search "."
    if offsets is None:
        return scan_blocks(paths, needles, 16 << 20)
    results = []
    for path in paths:
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            continue
        counts = [0] * len(needles)
        # An occurrence starts at most `longest` bytes before a reported anchor or inside a reported match
        # (ripgrep reports the leftmost match and goes on after its end), and ends at most `longest` bytes
        # after one: merged, these windows hold every occurrence exactly once.
        windows = []
        for offset, length in sorted(offsets.get(path, ())):
            low, high = max(offset - longest, 0), offset + length + longest
            if windows and low <= windows[-1][1]:
                windows[-1][1] = max(windows[-1][1], high)
            else:
                windows.append([low, high])
        try:
            with open(path, "rb") as handle:
                for low, high in windows:
                    handle.seek(low)
                    data = handle.read(high - low).lower()
                    for i, needle in enumerate(needles):
                        start = data.find(needle)
                        while start >= 0:
                            counts[i] += 1
                            start = data.find(needle, start + len(needle))
        except FileNotFoundError:
            continue
        results.append({"path": path, "bytes": size, "counts": counts})
    return results


def scan(paths, sniff, needles, block, rg=None):
    files = [*paths, *(p for p in sniff if _is_sqlite(p))]
    rg = rg if rg is not None else shutil.which("rg")
    if needles and rg and files:
        return scan_anchors(rg, files, needles)
    return scan_blocks(files, needles, block)


def main() -> None:
    job = json.load(sys.stdin)
    needles = [bytes.fromhex(n) for n in job["needles"]]
    json.dump(scan(job["paths"], job.get("sniff", []), needles, int(job.get("block", 16 << 20)),
                   rg=job.get("rg")), sys.stdout)


if __name__ == "__main__":
    main()
