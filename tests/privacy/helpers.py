"""Small helpers for walking a request through the pages."""

from sqlalchemy import select

from app.models import DataRequest


def register(client, kind="erasure", **fields):
    data = {"kind": kind, "channel": "desk", "requester_name": "Wubbeltje ter Quastenbroek",
            "requester_email": "wubbeltje@quastenbroek.example", **fields}
    response = client.post("/privacy/requests/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[-1]


def verify(client, reference, member):
    response = client.post(f"/privacy/requests/{reference}/identity",
                           data={"member_number": str(member.member_number), "method": "Passport shown at the desk"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def get_request(db, reference):
    db.session.expire_all()
    return db.session.scalar(select(DataRequest).where(DataRequest.reference == reference))
