"""The raw-file scan counts the same with ripgrep finding the places as with a pass per pattern."""

import random
import shutil

import pytest

from app.services import rawscan

NEEDLES = [b"jan de vries", b"de vries", b"jan.devries@example.nl", b"31612345678", b"+31612345678",
           b"nl91 abna 0417 1643 00", b"17-05-1980", b"aaaa", "j\u00f6rg".encode()]


def _file(tmp_path, name, chunks):
    path = tmp_path / name
    path.write_bytes(b"".join(chunks))
    return str(path)


@pytest.mark.skipif(shutil.which("rg") is None, reason="ripgrep (Debian package ripgrep) is not installed")
def test_ripgrep_and_the_block_passes_give_the_same_counts(tmp_path):
    rng = random.Random(18)
    pieces = [b"Jan de Vries", b"JAN DE VRIES", b"jAn De vRiEs", b"jan.DeVries@Example.NL", b"+31612345678",
              b"NL91 ABNA 0417 1643 00", b"17-05-1980", b"aaaaaaaaa", "J\u00f6rg".encode(), "J\u00d6RG".encode(),
              b"Jan de Vriesjan de vries", b"\x00\n"]
    chunks = []
    for _ in range(4000):
        chunks.append(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 60))))
        chunks.append(rng.choice(pieces))
    paths = [_file(tmp_path, "a.db", chunks), _file(tmp_path, "b.db", chunks[::-1]), _file(tmp_path, "empty", [])]

    with_rg = rawscan.scan(paths, [], NEEDLES, 1 << 12, rg=shutil.which("rg"))
    by_blocks = rawscan.scan(paths, [], NEEDLES, 1 << 12, rg="")  # small blocks: needles across block edges

    assert with_rg == by_blocks
    counts = dict(zip(NEEDLES, by_blocks[0]["counts"], strict=True))
    assert counts[b"jan de vries"] >= 3 and counts[b"de vries"] >= counts[b"jan de vries"]
    assert counts["j\u00f6rg".encode()] > 0  # an upper-case ASCII J folds; the \u00d6 of "J\u00d6RG" does not
    assert by_blocks[2] == {"path": paths[2], "bytes": 0, "counts": [0] * len(NEEDLES)}


def test_a_file_that_vanished_is_left_out(tmp_path):
    kept = _file(tmp_path, "kept.db", [b"xx Jan de Vries xx"])
    for rg in ("", shutil.which("rg") or ""):
        result = rawscan.scan([kept, str(tmp_path / "gone-wal")], [], [b"jan de vries"], 1 << 16, rg=rg)
        assert result == [{"path": kept, "bytes": 18, "counts": [1]}]
