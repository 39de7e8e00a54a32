"""The SQLite member search index (FTS5 trigram): used, kept in step with the rows, emptied by erasure."""

import pytest
from sqlalchemy import text

from app.services import erasure, search_index
from app.services import members as service
from app.services.members import SearchParams


@pytest.fixture(autouse=True)
def _sqlite_only(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the FTS5 index is SQLite's; PostgreSQL searches with pg_trgm")


def _search(db, actor, query):
    stmt = service.search_statement(SearchParams(query=query, status="all"), actor=actor)
    return [m.member_number for m in db.session.scalars(stmt)]


def _vocabulary(db) -> set[str]:
    """Every term any shard of the index holds."""
    terms = set()
    for name in search_index.FTS_TABLES:
        db.session.execute(text(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab_{name} USING fts5vocab(main, {name}, 'row')"))
        terms.update(db.session.scalars(text(f"SELECT term FROM temp.vocab_{name}")))  # noqa: S608 - fixed names
    return terms


def _trigrams(value: str) -> set[str]:
    return {value[i:i + 3] for i in range(len(value) - 2)}


def test_the_search_reads_the_fts_index(db, make_user, make_member):
    make_member(first_name="Quirijn", last_name="Zwartkop")
    desk = make_user("front_desk")
    stmt = service.search_statement(SearchParams(query="quirijn"), actor=desk)
    compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = " ".join(str(row[-1]) for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "VIRTUAL TABLE INDEX" in plan and all(name in plan for name in search_index.FTS_TABLES)
    assert "SCAN members USING COVERING INDEX ix_members_search_text" not in plan


def test_short_terms_fall_back_and_mix_with_long_ones(db, make_user, make_member):
    bo = make_member(first_name="Bo", infix=None, last_name="Jansen", email="bo@example.nl")
    make_member(first_name="Lotte", infix=None, last_name="Jansen", email="lotte@example.nl")
    desk = make_user("front_desk")
    assert _search(db, desk, "bo") == [bo.member_number]            # two characters: LIKE
    assert _search(db, desk, "bo jansen") == [bo.member_number]     # LIKE and the index together
    assert len(_search(db, desk, "jansen")) == 2


def test_names_only_users_do_not_match_on_contact_columns(db, make_user, make_member):
    member = make_member(first_name="Femke", last_name="Dijkstra", email="zonnebloem@example.nl", city="Harlingen")
    trainer = make_user("trainer")  # members.view, no members.contact
    desk = make_user("front_desk")
    assert _search(db, desk, "zonnebloem") == [member.member_number]
    assert _search(db, desk, "harlingen") == [member.member_number]
    assert _search(db, trainer, "zonnebloem") == []
    assert _search(db, trainer, "harlingen") == []
    assert _search(db, trainer, "dijkstra") == [member.member_number]


def test_the_index_changes_in_the_members_transaction(db, make_user, make_member):
    member = make_member(first_name="Gerrit", last_name="Ooms")
    desk = make_user("front_desk")
    service.update_member(member, {"last_name": "Veldkamp"}, actor=desk)
    # Not committed yet: the same transaction already finds the new name and not the old one.
    assert _search(db, desk, "veldkamp") == [member.member_number]
    assert _search(db, desk, "ooms") == []
    db.session.rollback()
    assert _search(db, desk, "ooms") == [member.member_number]
    assert _search(db, desk, "veldkamp") == []


@pytest.mark.parametrize("method", ["anonymise", "delete"])
def test_erasure_leaves_no_trigram_of_the_member_in_the_index(db, make_user, make_member, method):
    erased = make_member(first_name="Xaverius", infix=None, last_name="Qwyltjens", email="xq@wyltjens.example",
                         city="Zwyxcity", phone="+31 6 97531864")
    kept = make_member(first_name="Marloes", infix=None, last_name="Brouwer", email="marloes@example.nl")
    desk = make_user("front_desk")
    own = set()
    for value in ("xaverius qwyltjens", "xq@wyltjens.example", "zwyxcity", "0697531864"):
        own |= _trigrams(value)
    own -= set().union(*(_trigrams(t) for t in search_index_texts(db, exclude=erased.id)))
    assert own and own <= _vocabulary(db)  # the member's own trigrams are in the index before
    assert _search(db, desk, "qwyltjens") == [erased.member_number]
    assert _search(db, desk, "06 97531864") == [erased.member_number]
    shard = [search_index.shard_of(erased.id)]

    erasure.erase_member(erased, method, desk)
    db.session.commit()

    assert own & _vocabulary(db) == set()
    assert _search(db, desk, "qwyltjens") == []
    assert _search(db, desk, "xaverius") == []
    assert _search(db, desk, "wyltjens.example") == []
    assert _search(db, desk, "06 97531864") == []
    assert _search(db, desk, "brouwer") == [kept.member_number]
    # Merged (optimize): the member's shard holds exactly what a fresh index of the remaining
    # members holds, so no deleted entry of the erased member lingers in an older segment.
    assert _index_blocks(db, shard) == _fresh_index_blocks(db, shard)


def search_index_texts(db, exclude: int) -> list[str]:
    return list(db.session.scalars(text("SELECT search_text FROM members WHERE id != :id"), {"id": exclude}))


def _segment_blocks(db, name: str) -> list[bytes]:
    # id 1 is the averages record, id 10 the structure record; the rest are segment pages.
    return sorted(db.session.scalars(text(f"SELECT block FROM {name}_data WHERE id NOT IN (1, 10)")))  # noqa: S608


def _index_blocks(db, shards=search_index.FTS_TABLES) -> dict[str, list[bytes]]:
    return {name: _segment_blocks(db, name) for name in shards}


def _fresh_index_blocks(db, shards=search_index.FTS_TABLES) -> dict[str, list[bytes]]:
    """What each shard holds when built afresh from the members there are now, and merged."""
    names, contacts = search_index.NAME_SQL, search_index.CONTACT_SQL
    blocks = {}
    for name in shards:
        number = search_index.FTS_TABLES.index(name)
        db.session.execute(text("DROP TABLE IF EXISTS temp.fresh_fts"))
        db.session.execute(text("CREATE VIRTUAL TABLE temp.fresh_fts USING fts5(name, contact, content='', tokenize='trigram')"))
        db.session.execute(text(f"INSERT INTO temp.fresh_fts(rowid, name, contact) SELECT id, {names}, {contacts} "  # noqa: S608
                                f"FROM members WHERE id % {search_index.SHARDS} = {number}"))
        db.session.execute(text("INSERT INTO temp.fresh_fts(fresh_fts) VALUES ('optimize')"))
        blocks[name] = _segment_blocks(db, "temp.fresh_fts")
    db.session.execute(text("DROP TABLE temp.fresh_fts"))
    return blocks


def test_rebuild_gives_the_same_answers(db, make_user, make_member):
    member = make_member(first_name="Hendrika", last_name="Tuinstra")
    desk = make_user("front_desk")
    search_index.rebuild()
    db.session.commit()
    assert _search(db, desk, "tuinstra") == [member.member_number]
    assert _index_blocks(db) == _fresh_index_blocks(db)


def test_the_retention_sweep_merges_the_index_once_at_its_end(db, make_user, make_member, monkeypatch):
    from datetime import date

    from app.services import retention

    gone = [make_member(first_name="Wubbo", last_name=f"Zyqstra{i}", status="ended", ended_on=date(2019, 1, 31))
            for i in range(3)]
    kept = make_member(first_name="Grietje", last_name="Hoekstra")
    merges = []
    real = search_index._merge
    monkeypatch.setattr(search_index, "_merge", lambda session, names: merges.append(sorted(names)) or real(session, names))

    retention.run_sweep(None, commit=db.session.commit, member_chunk=2)  # two chunks, two erasures

    assert merges == [sorted({search_index.shard_of(member.id) for member in gone})]  # once, the touched shards only
    desk = make_user("front_desk")
    assert _search(db, desk, "zyqstra") == []
    assert _search(db, desk, "hoekstra") == [kept.member_number]
    assert len(gone) == 3 and {"zyq", "yqs", "wub", "ubb"} & _vocabulary(db) == set()
    shards = {search_index.shard_of(member.id) for member in gone}
    assert _index_blocks(db, shards) == _fresh_index_blocks(db, shards)


def test_members_in_every_shard_are_found_and_an_erasure_merges_only_its_own(db, make_user, make_member):
    family = [make_member(first_name=f"Kind{i}", infix=None, last_name="Wyzgraaf") for i in range(search_index.SHARDS + 2)]
    desk = make_user("front_desk")
    db.session.commit()
    assert {search_index.shard_of(member.id) for member in family} == set(search_index.FTS_TABLES)
    assert sorted(_search(db, desk, "wyzgraaf")) == sorted(member.member_number for member in family)
    erased = family[0]
    before = _index_blocks(db)

    erasure.erase_member(erased, "anonymise", desk)
    db.session.commit()

    after = _index_blocks(db)
    own = search_index.shard_of(erased.id)
    assert after[own] != before[own]
    assert {name: blocks for name, blocks in after.items() if name != own} == {
        name: blocks for name, blocks in before.items() if name != own}  # the other shards not rewritten
    assert sorted(_search(db, desk, "wyzgraaf")) == sorted(member.member_number for member in family[1:])
