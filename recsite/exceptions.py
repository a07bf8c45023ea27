"""The one application error type; the API maps it to {"message", "extra"} with HTTP 400."""


class ApplicationError(Exception):
    def __init__(self, message: str, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class NotFoundError(ApplicationError):
    """The thing the request names does not exist (the API answers 404, the site its 404 page or a message)."""


class TooManyRequestsError(ApplicationError):
    """Refused for a while after too many attempts; extra {"wait": seconds} (the API answers 429 + Retry-After)."""


class ServiceUnavailableError(ApplicationError):
    """A service the operation needs (the job broker, ...) cannot be reached now (the API answers 503)."""
