"""What a user may be shown of the recommendation service's internals (the API serializers and the site use it).

A fallback's reason is the text of the error that caused it: a vector-store error names the Milvus address
("describe alias failed (http://10.0.0.5:19530): ..."), a model error a server path. Staff see it to diagnose;
everybody else gets one generic sentence.
"""

FALLBACK_REASON_PUBLIC = "personal suggestions are unavailable right now: showing popular movies"


def fallback_reason_for(user, *, fallback: bool, reason: str) -> str:
    """The fallback reason as this user may see it: the detail for staff, the generic sentence for anybody else
    (anonymous and service accounts included), "" when the answer is not a fallback."""
    if not fallback:
        return ""
    if user is not None and getattr(user, "is_staff", False) and reason:
        return reason
    return FALLBACK_REASON_PUBLIC
