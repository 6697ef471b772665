"""The rewards domain's own failures, each with a stable code and status."""

from __future__ import annotations

from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound

__all__ = [
    "AlreadyDone",
    "Conflict",
    "Forbidden",
    "InsufficientPoints",
    "InvalidInput",
    "NotFound",
    "OutOfStock",
]


class InsufficientPoints(Conflict):
    code = "INSUFFICIENT_POINTS"


class OutOfStock(Conflict):
    code = "OUT_OF_STOCK"


class AlreadyDone(Conflict):
    code = "ALREADY_DONE"
