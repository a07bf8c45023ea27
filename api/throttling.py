"""The API's throttles: anonymous (per client address) and per-user rates, read from the settings when used, and
counted in the store every web process shares.

DRF copies DEFAULT_THROTTLE_RATES into its throttle classes once, at import; these read the current settings
(API_THROTTLE_ANON, API_THROTTLE_USER) instead, so a changed setting (override_settings in a test) takes effect.

DRF's own throttles keep each client's request times as a list in the default cache, read and written back by
each request: per gunicorn worker on the embedded default (local memory: 103 of 150 anonymous requests passed a
60/minute limit), and a read-modify-write that loses requests made at the same time even in Redis. These count in
the LIMITS_CACHE alias (Redis, or core.cache.SharedFileCache: recsite/settings/base.py) with an atomic
increment, in a fixed window that starts at a client's first request (core.cache.window_hit): "60/minute" lets
60 requests through in the minute that starts at the first, then 429 with Retry-After the seconds left in it.
While the store is unavailable (Redis down) requests are let through, logged.
"""

import logging
import time

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from core.cache import limits_cache, window_hit

log = logging.getLogger(__name__)


class SharedWindow:
    """allow_request counted with window_hit in the LIMITS_CACHE alias (DRF makes a throttle per request)."""

    def get_rate(self):
        self.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        return super().get_rate()

    def allow_request(self, request, view) -> bool:
        self.wait_seconds = None
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        try:
            count, until = window_hit(limits_cache(), self.key, self.duration)
        except Exception:  # noqa: BLE001 - the store failed: serve rather than refuse everybody
            log.exception("API throttle unavailable (cache error): request let through")
            return True
        if count <= self.num_requests:
            return True
        self.wait_seconds = max(until - time.time(), 0.0)
        return False

    def wait(self):
        return self.wait_seconds


class AnonThrottle(SharedWindow, AnonRateThrottle):
    """Requests without a valid token or session (the public catalogue, logging in): per client address."""


class UserThrottle(SharedWindow, UserRateThrottle):
    """Signed-in requests: per user."""
