"""Log-in behind failure limits: after too many failed attempts for one account or from one address, every
attempt for that account or from that address is refused for a while, even with the right password.

The site's log-in forms (the site's and the admin's) and the API's token endpoint all log in through
``login_authenticate``. Failures are counted in the LIMITS_CACHE alias, the one store every web process of the
deployment shares (Redis, or files under var/limits on the embedded default: recsite/settings/base.py), so the
limits hold whichever gunicorn worker answers; a fixed window of LOGIN_FAILURES_WINDOW_SECONDS
that starts at the first failure: LOGIN_FAILURES_PER_ACCOUNT for one username (case-insensitive, so "Alice"
and "alice" count together; unknown usernames too), LOGIN_FAILURES_PER_ADDRESS for one client address. The
address is the one the API throttle uses (``client_address``): the socket's, unless NUM_PROXIES trusted proxies
put the client's in X-Forwarded-For, so a client cannot change it by sending that header. A successful log-in
clears its account's count, not its address's. If the cache itself fails, the attempt goes through (logged):
a dead Redis must not lock every user out.

Why not django-axes (issue #24 asked to prefer it): axes compares one failure limit with the largest of its
per-parameter counts, so it cannot keep 10 failures per account and 30 per address (an office behind one NAT
address would be locked out after 10 typos in all), and its lock-out is its own middleware response with no time
left in it, where the site shows a form error and the API a 429 with {"wait": s} and Retry-After. The bug was the
store, not the counting: the counts now live where every process sees them.
"""

import hashlib
import logging
import time

from django.conf import settings
from django.contrib.auth import authenticate
from rest_framework.throttling import BaseThrottle

from core.cache import limits_cache, window_hit
from core.exceptions import TooManyRequestsError

log = logging.getLogger(__name__)


def client_address(request) -> str:
    """The client's address as the API throttle sees it (DRF's get_ident, with settings.NUM_PROXIES)."""
    return BaseThrottle().get_ident(request) or ""


def _keys(username: str, address: str) -> list[str]:
    def digest(text: str) -> str:  # any username or address, as a short cache-safe key
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]

    return [f"login-failures:account:{digest(username.casefold())}", f"login-failures:address:{digest(address)}"]


def _limits() -> list[int]:
    return [settings.LOGIN_FAILURES_PER_ACCOUNT, settings.LOGIN_FAILURES_PER_ADDRESS]


def _wait_seconds(keys: list[str]) -> int:
    """Seconds until the attempt may be made (0: now): the longest wait among the limits reached."""
    values = limits_cache().get_many([*keys, *(f"{key}:until" for key in keys)])
    now, wait = time.time(), 0
    for key, limit in zip(keys, _limits(), strict=True):
        if values.get(key, 0) >= limit:
            wait = max(wait, int(values.get(f"{key}:until", now) - now) + 1)
    return wait


def _failure_record(keys: list[str]) -> None:
    for key in keys:  # the window starts at the first failure
        window_hit(limits_cache(), key, settings.LOGIN_FAILURES_WINDOW_SECONDS)


def login_authenticate(*, request, username: str, password: str):
    """authenticate() unless a failure limit is reached: the user, or None for wrong credentials (counted);
    TooManyRequestsError (extra {"wait": seconds}) while the account or the address is locked out."""
    keys = _keys(username, client_address(request))
    try:
        wait = _wait_seconds(keys)
    except Exception:  # noqa: BLE001 - the cache is down: let the attempt through rather than lock everybody out
        log.exception("log-in limits unavailable (cache error): attempt for %r let through", username)
        keys, wait = [], 0
    if wait:
        log.warning("log-in refused for %r from %s: too many failures", username, client_address(request))
        minutes = -(-wait // 60)
        raise TooManyRequestsError(
            f"Too many failed log-in attempts: try again in {minutes} minute{'s' if minutes > 1 else ''}.",
            {"wait": wait},
        )
    user = authenticate(request=request, username=username, password=password)
    try:
        if user is None and keys:
            _failure_record(keys)
        elif keys:
            limits_cache().delete_many([keys[0], f"{keys[0]}:until"])
    except Exception:  # noqa: BLE001 - as above
        log.exception("log-in limits unavailable (cache error): attempt for %r not counted", username)
    return user
