"""The one application error type; the API maps it to {"message", "extra"}: HTTP 400, or the status a subclass names."""


class ApplicationError(Exception):
    def __init__(self, message: str, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class NotFoundError(ApplicationError):
    """The thing the request names does not exist (the API answers 404, the site its 404 page or a message)."""


class ConflictError(ApplicationError):
    """Refused by the current state, not by the request (a version's pipeline holds the training lock; extra names
    the running version as {"number": n}): the API answers 409."""


class TooManyRequestsError(ApplicationError):
    """Refused for a while after too many attempts; extra {"wait": seconds} (the API answers 429 + Retry-After)."""


class ServiceUnavailableError(ApplicationError):
    """A service the operation needs (the job broker, ...) cannot be reached now (the API answers 503)."""
