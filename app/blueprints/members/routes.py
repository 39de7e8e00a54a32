"""Member list and member page (the Foundation issue completes these)."""

from flask import abort, render_template
from sqlalchemy import select

from app.auth.decorators import permission_required
from app.blueprints.members import bp
from app.extensions import db
from app.models import Member


@bp.get("")
@permission_required("members.view")
def index():
    members = db.session.scalars(select(Member).order_by(Member.last_name).limit(50)).all()
    return render_template("members/index.html", members=members)


@bp.get("/<int:member_number>")
@permission_required("members.view")
def show(member_number: int):
    member = db.session.scalar(select(Member).where(Member.member_number == member_number))
    if member is None:
        abort(404)
    return render_template("members/show.html", member=member)
