"""The partner REST API (/api/v1): JSON over HTTPS only, a bearer token per partner client.

flask-smorest builds the OpenAPI 3.1 document from the marshmallow schemas that also parse
requests and serialise responses (app/api/schemas.py), so the document cannot drift.
"""

from flask_smorest import Api, Blueprint
from webargs.flaskparser import FlaskParser


class _Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400  # a bad limit or date is a 400 problem, as the docs say


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = _Parser()


class ClubhouseApi(Api):
    """flask-smorest without its own error pages (the app answers problem+json itself)."""

    def _register_error_handlers(self):
        pass

    def _register_responses(self):
        import http

        from flask_smorest.utils import prepare_response

        from app.api.schemas import ProblemSchema

        for status in http.HTTPStatus:
            if status < 400:
                continue
            response = {"description": status.phrase, "schema": ProblemSchema}
            prepare_response(response, self.spec, "application/problem+json")
            self.spec.components.response(status.name, response, lazy=True)


bp = ApiBlueprint("api", __name__, url_prefix="/api/v1",
                  description="Member data for the club's partner systems (access gates, planning tools).")


def register(app) -> None:
    """Bind the API to the app: the blueprint, the OpenAPI document, the HTTPS/token guard."""
    from app.api import guard, routes  # noqa: F401 - the routes register on bp
    from app.extensions import csrf

    app.config.setdefault("API_TITLE", "Clubhouse partner API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", None)  # the document is served by routes.openapi_json
    app.config.setdefault("API_SPEC_OPTIONS", {
        "components": {"securitySchemes": {"bearerToken": {
            "type": "http", "scheme": "bearer",
            "description": "The client's token (chp_...), shown once when the client was created or rotated."}}},
        "security": [{"bearerToken": []}],
        "info": {"description": "See docs/api.md. HTTPS only; errors are application/problem+json (RFC 9457)."},
    })
    api = ClubhouseApi()
    api.DEFAULT_ERROR_RESPONSE_NAME = None
    api.init_app(app)
    api.register_blueprint(bp)
    app.extensions["clubhouse_api"] = api
    csrf.exempt(bp)
    guard.register(app)
