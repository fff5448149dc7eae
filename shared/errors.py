"""Domain exceptions. Raised by domain code, mapped to HTTP problem responses in `shared.web`."""


class DomainError(Exception):
    """A command was refused; `status` is the HTTP status it maps to."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, errors: dict | list | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class InvalidInput(DomainError):
    """The request is well-formed but its content breaks a rule (unknown ids, bad rows...)."""

    status = 422
    title = "Unprocessable content"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    """The command conflicts with the current state (already decided, different payload...)."""

    status = 409
    title = "Conflict"


class Forbidden(DomainError):
    """The caller is known but may not do this to this object."""

    status = 403
    title = "Forbidden"
