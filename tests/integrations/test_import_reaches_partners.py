"""Members an import creates or changes reach the partners without waiting for the next full sync (issue 19)."""

from sqlalchemy import select

from app.models import OutboxEvent
from app.services.connectors import delivery
from tests.members.test_import import HEADER, MAPPING, do_import, good_row

EGYM_HEADER = [*HEADER, "Geslacht", "Toestemming eGym"]
EGYM_MAPPING = {**MAPPING, "Geslacht": "gender", "Toestemming eGym": "consent_egym"}


def egym_rows(numbers, **overrides):
    return [good_row(n, **{"Abonnement": "Fitness onbeperkt", "Maandbedrag": "39,50", **overrides}) + ["v", "ja"]
            for n in numbers]


def egym_file(rows) -> bytes:
    lines = [";".join(EGYM_HEADER)] + [";".join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def test_imported_members_are_queued_in_the_import_and_delivered_to_the_partner(configure, egym, make_plan, db,
                                                                                clock_at):
    make_plan("Fitness onbeperkt", plan_group="fitness")
    configure()
    imp = do_import(egym_file(egym_rows(range(2001, 2004))), mapping=EGYM_MAPPING)
    assert imp.created_count == 3
    rows = db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
    assert [(r.kind, r.state) for r in rows] == [("created", "pending")] * 3  # one per member, no values
    assert delivery.run_pending("egym").delivered == 3
    posted = sorted(call["body"]["membership"]["membershipId"] for call in egym.calls("POST"))
    assert posted == ["2001", "2002", "2003"]

    # A changed row reaches the partner too; the rows that did not change send nothing.
    changed = egym_rows(range(2001, 2004))
    changed[1] = egym_rows([2002], **{"E-mail": "nieuw2002@example.nl"})[0]
    again = do_import(egym_file(changed), mapping=EGYM_MAPPING)
    assert (again.updated_count, again.unchanged_count) == (1, 2)
    assert delivery.run_pending("egym").delivered == 1
    [patch] = egym.calls("PATCH")
    assert patch["body"]["email"] == "nieuw2002@example.nl"


def test_without_an_enabled_connector_an_import_queues_nothing(db, make_plan):
    make_plan("Fitness onbeperkt", plan_group="fitness")
    imp = do_import(egym_file(egym_rows(range(3001, 3003))), mapping=EGYM_MAPPING)
    assert imp.created_count == 2
    assert db.session.scalars(select(OutboxEvent)).all() == []
