"""The referrals service's failures, each with a stable code and status."""

from __future__ import annotations

from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound


class PackNotFound(NotFound):
    code = "PACK_NOT_FOUND"


class PackNotPublished(Conflict):
    code = "PACK_NOT_PUBLISHED"


class LinkNotFound(NotFound):
    code = "LINK_NOT_FOUND"


class ConversionNotFound(NotFound):
    code = "CONVERSION_NOT_FOUND"


class ConversionNotPending(Conflict):
    code = "CONVERSION_NOT_PENDING"


class NotAllowed(Forbidden):
    code = "FORBIDDEN"


class InvalidReference(InvalidInput):
    """A code, click id or customer reference that cannot be one."""

    code = "INVALID"
