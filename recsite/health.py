"""Health endpoints for a process manager or an orchestrator (deploy/): no login, no session, no template.

- GET /healthz  liveness: the process answers (nothing else is touched, so a slow database never gets a healthy
  web process restarted).
- GET /readyz   readiness: the database answers (else 503: take this process out of the load balancer); the cache
  and the vector store are reported but never fail it, since the site keeps serving without them (the
  popularity fallback, ResilientRedisCache). The body names each check and the live model version.
"""

import time

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
    except Exception as exc:  # noqa: BLE001 - a readiness probe reports every failure, it never raises
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300], "ms": _ms(started)}
    return {"ok": True, **(detail or {}), "ms": _ms(started)}


def _ms(started: float) -> float:
    return round(1000 * (time.perf_counter() - started), 1)


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise DatabaseError("SELECT 1 did not return 1")


def _cache() -> None:
    cache.set("health:probe", 1, 10)
    if cache.get("health:probe") != 1:
        raise ConnectionError("the cache did not keep a value (unreachable: requests run uncached)")


def _vectors() -> dict:
    from recommender.vectorstore import get_vector_store

    return {"live_version": get_vector_store().live_version()}


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    checks = {"database": _timed(_database), "cache": _timed(_cache), "vectors": _timed(_vectors)}
    if not checks["database"]["ok"]:
        status, code = "unavailable", 503
    elif all(check["ok"] for check in checks.values()):
        status, code = "ok", 200
    else:
        status, code = "degraded", 200
    return JsonResponse({"status": status, "checks": checks}, status=code)
