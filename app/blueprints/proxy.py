"""X-Forwarded-* believed only from the configured proxies, through werkzeug's ProxyFix."""

from werkzeug.middleware.proxy_fix import ProxyFix

FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
             "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX")


class TrustedProxyFix:
    """Apply ProxyFix (one hop) to requests whose peer is a trusted proxy; pass others unchanged.

    Entries are addresses or CIDR ranges. From anyone else X-Forwarded-Proto cannot make a
    plain-HTTP request look like HTTPS, and X-Forwarded-For cannot change the client address.
    """

    def __init__(self, wsgi_app, proxies):
        from app.blueprints.security import _networks

        self.wsgi_app = wsgi_app
        self.fixed = ProxyFix(wsgi_app, x_for=1, x_proto=1, x_host=0, x_port=0, x_prefix=0)
        # The same parsing as client_ip(): an entry that is no address is left out (deploy-check names it).
        self.networks = _networks(proxies)

    def _trusted(self, address: str | None) -> bool:
        from app.blueprints.security import _is_trusted

        return _is_trusted(address, self.networks)

    def __call__(self, environ, start_response):
        if self._trusted(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        return self.wsgi_app(environ, start_response)
