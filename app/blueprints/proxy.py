"""X-Forwarded-* believed only from the configured proxies, through werkzeug's ProxyFix."""

import ipaddress

from werkzeug.middleware.proxy_fix import ProxyFix

FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
             "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX")


class TrustedProxyFix:
    """Apply ProxyFix (one hop) to requests whose peer is a trusted proxy; pass others unchanged.

    Entries are addresses or CIDR ranges. From anyone else X-Forwarded-Proto cannot make a
    plain-HTTP request look like HTTPS, and X-Forwarded-For cannot change the client address.
    """

    def __init__(self, wsgi_app, proxies):
        self.wsgi_app = wsgi_app
        self.fixed = ProxyFix(wsgi_app, x_for=1, x_proto=1, x_host=0, x_port=0, x_prefix=0)
        self.networks = [ipaddress.ip_network(p, strict=False) for p in proxies]

    def _trusted(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address((address or "").split("%")[0])
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)

    def __call__(self, environ, start_response):
        if self._trusted(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        return self.wsgi_app(environ, start_response)
