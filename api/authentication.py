"""How API requests authenticate with a token: "Authorization: Token <key>" or "Authorization: Bearer <key>".

Both schemes carry the same DRF tokens (POST /api/auth/token/); Bearer is what most HTTP clients and OpenAPI
tools send. The schema lists both (base.TokenOrBearerScheme). This module is named in the REST_FRAMEWORK
settings, so it imports nothing from drf-spectacular (its extensions import DRF's views while DRF reads them).
"""

from rest_framework.authentication import TokenAuthentication, get_authorization_header


class TokenOrBearerAuthentication(TokenAuthentication):
    """DRF's TokenAuthentication under either keyword (case-insensitive, as DRF's), with DRF's error messages. A 401
    still challenges with "WWW-Authenticate: Token" (DRF asks a fresh instance, whose keyword is the first)."""

    keywords = ("Token", "Bearer")

    def authenticate(self, request):
        words = get_authorization_header(request).split()
        scheme = words[0].lower() if words else b""
        for keyword in self.keywords:
            if scheme == keyword.lower().encode():
                self.keyword = keyword  # this instance serves this request only (DRF makes one per request)
                return super().authenticate(request)
        return None
