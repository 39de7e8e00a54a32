"""The per-client request budget of the partner API, shared by every worker and host.

Fixed windows: in the database (RateLimitBucket, the same table as the login limits) or, when
REDIS_URL is set, in Redis (INCR plus EXPIRE, atomic in one transaction). Keys hold the
client's id, never an address or a token.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from app.services import clock, rate_limits


@dataclass(frozen=True)
class Budget:
    """What is left of a client's budget in the current window."""

    limit: int
    used: int
    reset_seconds: int

    @property
    def allowed(self) -> bool:
        return self.used <= self.limit

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


@cache
def _redis(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _epoch() -> int:
    return int((clock.utcnow() - datetime(1970, 1, 1)).total_seconds())


def spend(client_id: int, *, limit: int, window_seconds: int = 60, redis_url: str | None = None) -> Budget:
    """Count one request of the client; Budget.allowed is False once the window's limit is passed."""
    key = f"api-client:{int(client_id)}"
    epoch = _epoch()
    left = window_seconds - epoch % window_seconds
    if redis_url:
        window = epoch // window_seconds
        redis_key = f"clubhouse:rate:{key}:{window}"
        pipe = _redis(redis_url).pipeline(transaction=True)
        pipe.incr(redis_key)
        pipe.expire(redis_key, window_seconds * 2)
        used, _ = pipe.execute()
        return Budget(limit, int(used), left)
    used = rate_limits.hit(key, timedelta(seconds=window_seconds))
    return Budget(limit, used, left)
