"""The API's throttles: DRF's anonymous (per client address) and per-user rates, read from the settings when used.

DRF copies DEFAULT_THROTTLE_RATES into its throttle classes once, at import; these read the current settings
(API_THROTTLE_ANON, API_THROTTLE_USER) instead, so a changed setting (override_settings in a test) takes effect.
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class CurrentRates:
    def get_rate(self):
        self.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES  # DRF makes a throttle per request
        return super().get_rate()


class AnonThrottle(CurrentRates, AnonRateThrottle):
    """Requests without a valid token or session (the public catalogue, logging in): per client address."""


class UserThrottle(CurrentRates, UserRateThrottle):
    """Signed-in requests: per user."""
