"""Hostile bodies against every API operation of a live server, anonymous and with a token (run by .ci/api-fuzz).

    .venv/bin/python .ci/api_fuzz_bodies.py http://127.0.0.1:PORT [TOKEN]

Each operation of /api/schema/ that takes a body (POST, PUT, PATCH; path parameters filled with 1) gets deeply
nested JSON (the issue's 6 KB of ``[[[[``, 200 KB unclosed, objects 5,000 deep, a field nested 100 deep), bodies
over DATA_UPLOAD_MAX_MEMORY_SIZE (3 MB and 20 MB of JSON), a form with 5,000 fields and invalid JSON. Every answer
must be below 500 and, when it is an error, the API's JSON. Prints the counts per caller and status; exit 1 otherwise.
The answer is read while the body is still being sent, as browsers and curl do: a server may refuse a body it
never reads. Operation ids in SKIP_WITH_TOKEN (destructive ones) are sent only anonymously.
"""

import json
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import urlopen

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests.support
from tests.support import send  # noqa: E402  (standard library only; shared with tests/faults/test_hostile_bodies.py)

SKIP_WITH_TOKEN = {"token_revoke", "vector_drop"}  # .ci/api-fuzz runs these last, on their own


def deep_object(levels: int) -> bytes:
    return ('{"a": ' * (levels - 1) + "{}" + "}" * (levels - 1)).encode()


BODIES = {
    "6 KB of [[[[": (b"[" * 3072 + b"]" * 3072, "application/json"),
    "200 KB unclosed [": (b"[" * 200_000, "application/json"),
    "objects 5,000 deep": (deep_object(5000), "application/json"),
    "a field 100 deep": (
        b'{"score": ' + deep_object(100) + b', "username": ' + deep_object(100) + b"}",
        "application/json",
    ),
    "3 MB of JSON": (json.dumps({"score": 4, "pad": "x" * 3_000_000}).encode(), "application/json"),
    "20 MB of JSON": (json.dumps({"pad": "x" * 20_000_000}).encode(), "application/json"),
    "5,000 form fields": ("&".join(f"f{i}=1" for i in range(5000)).encode(), "application/x-www-form-urlencoded"),
    "invalid JSON": (b'{"score": 4,', "application/json"),
}


def operations(base: str) -> list[tuple[str, str, str]]:
    """(operation id, method, path with parameters filled) of every operation that takes a body."""
    with urlopen(f"{base}/api/schema/?format=json", timeout=60) as answer:
        schema = json.load(answer)
    found = []
    for template, item in schema["paths"].items():
        path = template
        for name in [p["name"] for op in item.values() if isinstance(op, dict) for p in op.get("parameters", [])]:
            path = path.replace("{" + name + "}", "1")
        for method, op in item.items():
            if method in ("post", "put", "patch"):
                found.append((op.get("operationId", f"{method} {template}"), method.upper(), path))
    return found


def main() -> int:
    base = sys.argv[1].rstrip("/")
    token = sys.argv[2] if len(sys.argv) > 2 else None
    url = urlsplit(base)
    ops = operations(base)
    callers = {"anonymous": None, **({"token": token} if token else {})}
    counts: Counter = Counter()
    bad = []
    started = time.monotonic()
    for who, credential in callers.items():
        for op_id, method, path in ops:
            if credential and op_id in SKIP_WITH_TOKEN:
                continue
            for label, (body, content_type) in BODIES.items():
                status, kind, text = send(url.hostname, url.port, method, path, body, content_type, credential)
                counts[who, status] += 1
                error_format = status < 400 or (kind.startswith("application/json") and _is_api_error(text))
                if status >= 500 or not error_format:
                    bad.append(f"{who} {method} {path} [{label}] -> {status} {kind}: {text[:200]!r}")
    print(
        f"api-fuzz bodies: {len(ops)} operations with a body x {len(BODIES)} bodies, {time.monotonic() - started:.0f} s"
    )
    for (who, status), n in sorted(counts.items()):
        print(f"  {who:9} {status}: {n}")
    for line in bad:
        print(f"  BAD {line}")
    print(f"api-fuzz bodies: {sum(counts.values())} requests, {len(bad)} 5xx or not the API's JSON error")
    return 1 if bad else 0


def _is_api_error(text: bytes) -> bool:
    try:
        body = json.loads(text)
    except ValueError:
        return False
    return isinstance(body, dict) and "message" in body


if __name__ == "__main__":
    sys.exit(main())
