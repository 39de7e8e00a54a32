"""gunicorn settings for Clubhouse (`gunicorn -c gunicorn.conf.py wsgi:app`).

The access log never records a query string or a referrer (both can carry a member's name:
`/members?q=...`, and with Referrer-Policy same-origin the referrer is such an address):
the request line is logged as method, path and protocol only.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
# h: client, t: time, m/U/H: method, path without query string, protocol; s: status; b: size; M: ms
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
# A request line gunicorn cannot parse is logged with its text: keep such lines short.
limit_request_line = 4094
