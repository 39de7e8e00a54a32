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
# The app is built once, in the master, and each worker is a fork of it: a worker starts at once
# instead of importing the whole app again (about 3 s of CPU each on the 2-core development
# machine), and the workers share the loaded code. Building the app opens no database connection;
# post_fork below makes sure a worker never uses one it inherited. A code change needs a restart,
# not a HUP.
preload_app = True


def post_fork(server, worker):
    """A new worker drops any pooled database connection of the master, so it opens its own."""
    from app.extensions import db

    application = worker.app.wsgi()
    with application.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
