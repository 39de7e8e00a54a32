"""The API's marshmallow schemas: they validate requests, serialise responses and make the OpenAPI document."""

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from app.models.api import CHANGE_KINDS
from app.models.member import ACTIVE, ENDED
from app.services.api_clients import ALWAYS_FIELDS
from app.services.partner_api import MAX_LIMIT

MEMBER_STATUSES = (ACTIVE, ENDED)  # what a partner may filter on: anonymised members are not served


class QuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE


class BodySchema(Schema):
    class Meta:
        unknown = RAISE


def _limit(default: int):
    return fields.Integer(load_default=default, validate=validate.Range(min=1, max=MAX_LIMIT),
                          metadata={"description": f"Items per page, 1-{MAX_LIMIT}."})


def _cursor():
    return fields.String(load_default=None, validate=validate.Length(max=200),
                         metadata={"description": "The next_cursor of the previous page, as given."})


class MembersQuery(QuerySchema):
    limit = _limit(50)
    cursor = _cursor()
    updated_since = fields.AwareDateTime(
        load_default=None, format="iso",
        metadata={"description": "Only members changed at or after this time (ISO 8601 with UTC offset)."})


class PageQuery(QuerySchema):
    limit = _limit(100)
    cursor = _cursor()


class VisitsQuery(PageQuery):
    since = fields.AwareDateTime(load_default=None, format="iso",
                                 metadata={"description": "Only visits at or after this time (ISO 8601 with UTC offset)."})


def _text(**kwargs):
    return fields.String(allow_none=True, **kwargs)


class MemberSchema(Schema):
    """A member as one client sees it: member_number and the name always, the rest as granted."""

    member_number = fields.Integer(required=True)
    first_name = fields.String(required=True)
    infix = _text(required=True)
    last_name = fields.String(required=True)
    date_of_birth = fields.Date(allow_none=True)
    gender = _text()
    email = _text()
    phone = _text()
    street = _text()
    house_number = _text()
    postcode = _text()
    city = _text()
    country = _text()
    joined_on = fields.Date()
    ended_on = fields.Date(allow_none=True)
    status = fields.String(validate=validate.OneOf(MEMBER_STATUSES))


assert tuple(MemberSchema._declared_fields)[:4] == ALWAYS_FIELDS  # noqa: S101 - the schema and the rule agree


class MemberPage(Schema):
    data = fields.List(fields.Nested(MemberSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True,
                                metadata={"description": "Pass as cursor for the next page; null on the last page."})


class SubscriptionSchema(Schema):
    plan = fields.String(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True, allow_none=True)
    status = fields.String(required=True)


class SubscriptionList(Schema):
    data = fields.List(fields.Nested(SubscriptionSchema), required=True)


class VisitSchema(Schema):
    at = fields.AwareDateTime(required=True, format="iso")
    location = fields.String(required=True)


class VisitPage(Schema):
    data = fields.List(fields.Nested(VisitSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class CheckinRequest(BodySchema):
    member_number = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1))
    at = fields.AwareDateTime(load_default=None, allow_none=True, format="iso",
                              metadata={"description": "When the member came in (ISO 8601 with UTC offset); default now."})
    location = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class CheckinResponse(Schema):
    member_number = fields.Integer(required=True)
    at = fields.AwareDateTime(required=True, format="iso")
    location = fields.String(required=True)
    replayed = fields.Boolean(required=True, metadata={
        "description": "True when this answers a retry with the same Idempotency-Key (the visit counted once)."})


class ChangeSchema(Schema):
    member_number = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(CHANGE_KINDS))
    at = fields.AwareDateTime(required=True, format="iso")


class ChangePage(Schema):
    data = fields.List(fields.Nested(ChangeSchema), required=True)
    next_cursor = fields.String(required=True, metadata={
        "description": "Pass as cursor next time; the feed continues after what you have seen."})
    has_more = fields.Boolean(required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    code = fields.String(required=True, metadata={"description": "A stable code; the last part of type."})
    errors = fields.Dict(keys=fields.String(), values=fields.Raw(),
                         metadata={"description": "Per request field, what is wrong with it."})
