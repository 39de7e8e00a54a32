"""The issue's 'done means', end to end: enable from the CLI, sync, the overview, an outage, the wizard, one deletion."""

from datetime import timedelta

from app.services import clock, export
from tests.integrations.conftest import KEY
from tests.privacy.helpers import register, verify


def test_enable_sync_outage_erase_through_the_wizard_one_deletion(client, runner, login, make_user, egym, egym_member,
                                                                  db, clock_at, tmp_path):
    keep = egym_member()
    leaving = egym_member(email="leaving@example.nl", first_name="Berendina", last_name="Oudewater")
    key_file = tmp_path / "key"
    key_file.write_text(KEY)
    result = runner.invoke(args=["integrations", "configure", "egym", "--url", egym.url, "--api-key-file",
                                 str(key_file), "--basis", "consent", "--field", "contact.city", "--enable"])
    assert result.exit_code == 0, result.output
    assert "2 delivered" in runner.invoke(args=["integrations", "sync", "--full"]).output
    # The overview says exactly which fields went to how many members.
    login(make_user("administrator", username="admin"))
    page = client.get("/integrations").get_data(as_text=True)
    assert "<code>contact.city</code>" in page and '<td class="num">2</td>' in page
    # An outage: changes wait, nothing is lost, nothing doubled.
    egym.down = True
    keep.city = "Deventer"
    db.session.commit()
    assert "stopped" in runner.invoke(args=["integrations", "sync"]).output
    egym.down = False
    clock.freeze(clock.utcnow() + timedelta(minutes=5))
    assert "1 delivered" in runner.invoke(args=["integrations", "sync"]).output
    assert len(egym.accounts) == 2 and len(egym.calls("POST")) == 2
    # The member's export lists eGym with the dates and fields.
    [recipient] = [r for r in export.recipients_for(leaving) if r.name == "eGym"]
    assert "contact.city" in recipient.categories and recipient.first_at == clock.today()
    # The privacy officer erases one member through the wizard.
    login(make_user("privacy_officer", username="olga"))
    reference = register(client)
    verify(client, reference, leaving)
    base = f"/privacy/requests/{reference}/erasure"
    client.post(f"{base}/start")
    client.post(f"{base}/ground", data={"ground": "no_longer_needed"})
    client.post(f"{base}/decision", data={"decision": "grant", "reason": "The member left; no contract runs."})
    client.post(f"{base}/method", data={"method": "delete"})
    response = client.post(f"{base}/confirm", data={"member_number": str(leaving.member_number)})
    assert response.headers["Location"].endswith(f"{base}/result"), response.get_data(as_text=True)[:500]
    for _ in range(2):
        runner.invoke(args=["integrations", "sync"])
    assert len(egym.deletions) == 1 and len(egym.accounts) == 1
    [delete] = egym.calls("DELETE")
    assert delete["query"] == {"eraseMemberData": ["true"]}
    assert egym.invalid == []
