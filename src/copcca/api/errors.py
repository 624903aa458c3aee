"""JSON error bodies with a stable code and a plain message."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    code: str
    message: str
    fix: str | None = None
    details: dict[str, Any] | None = None


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error codes a route may return."""
    return {code: {"model": ErrorBody} for code in codes}


# Every route may answer these; 422 replaces FastAPI's default validation schema.
AUTH_ERRORS = responses(401, 403, 422)
