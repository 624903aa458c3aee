"""The root of every expected failure. Each carries an HTTP status, a stable
code and a plain message that tells the user what to do next."""

from __future__ import annotations

from typing import Any, ClassVar


class CopccaError(Exception):
    """An expected outcome that is not a success. Never a 500."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, *, fix: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fix:
            body["fix"] = self.fix
        if self.details:
            body["details"] = self.details
        return body


class NotFound(CopccaError):
    status_code = 404
    code = "not_found"


class NotAuthenticated(CopccaError):
    status_code = 401
    code = "not_authenticated"


class PermissionDenied(CopccaError):
    status_code = 403
    code = "permission_denied"


class CsrfFailed(CopccaError):
    status_code = 403
    code = "csrf_failed"


class InvalidInput(CopccaError):
    status_code = 422
    code = "invalid_input"


class Conflict(CopccaError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(CopccaError):
    status_code = 413
    code = "payload_too_large"


class ServiceUnavailable(CopccaError):
    status_code = 503
    code = "service_unavailable"


class VaultError(CopccaError):
    """A secret could not be decrypted: the integration needs reconnecting."""

    status_code = 409
    code = "reconnect_required"


def describe_validation_error(
    err: dict[str, Any], skip: frozenset[str] = frozenset()
) -> tuple[str, str]:
    """(field, plain message) for one pydantic error. ``skip`` drops location
    parts that mean nothing to a person (``body``, union tags)."""
    parts = [str(p) for p in err.get("loc", ()) if str(p) not in skip and p != "body"]
    kind = err.get("type", "")
    if kind == "missing":
        message = "This is required."
    elif kind == "extra_forbidden":
        message = "This field is not used here."
    elif kind == "union_tag_invalid":
        message = "Unknown value; see the API reference for the allowed ones."
    else:
        message = str(err.get("msg", "This value is not valid."))
    return ".".join(parts), message
