"""Fixed-window rate limits kept in the database, so every worker and host shares them."""

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import RateLimitBucket
from app.services import clock


def _window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp()) if now.tzinfo else int((now - datetime(1970, 1, 1)).total_seconds())
    return datetime(1970, 1, 1) + timedelta(seconds=epoch - epoch % seconds)


def hits(key: str, window: timedelta = timedelta(hours=1)) -> int:
    """How many hits the key has in the current window."""
    start = _window_start(clock.utcnow(), window)
    return db.session.scalar(select(RateLimitBucket.hits).where(
        RateLimitBucket.key == key, RateLimitBucket.window_start == start)) or 0


def window_ends(window: timedelta = timedelta(hours=1)) -> datetime:
    """When the current window ends (naive UTC): the moment a refused client may try again."""
    return _window_start(clock.utcnow(), window) + window


def allowed(key: str, limit: int, window: timedelta = timedelta(hours=1)) -> bool:
    """True while the key has fewer than `limit` hits in the current window (counts nothing)."""
    return hits(key, window) < limit


def take(key: str, limit: int, window: timedelta = timedelta(hours=1)) -> bool:
    """Count one attempt unless the key has reached `limit` in this window; False (nothing counted) when refused."""
    if not allowed(key, limit, window):
        return False
    hit(key, window)
    return True


def hit(key: str, window: timedelta = timedelta(hours=1)) -> int:
    """Count one hit for the key in the current window; returns the new count (flushed)."""
    start = _window_start(clock.utcnow(), window)
    where = (RateLimitBucket.key == key, RateLimitBucket.window_start == start)
    result = db.session.execute(update(RateLimitBucket).where(*where).values(hits=RateLimitBucket.hits + 1))
    if result.rowcount == 0:
        try:
            with db.session.begin_nested():
                db.session.add(RateLimitBucket(key=key, window_start=start, hits=1))
        except IntegrityError:  # another worker created the bucket first
            db.session.execute(update(RateLimitBucket).where(*where).values(hits=RateLimitBucket.hits + 1))
    # Old windows are of no use any more.
    db.session.execute(delete(RateLimitBucket).where(
        RateLimitBucket.key == key, RateLimitBucket.window_start < start))
    return hits(key, window)
