"""What the content service needs from outside systems, and the errors they raise.

Object storage and image decoding sit behind these protocols; the adapters in
``storage.py`` and ``imaging.py`` translate vendor errors (botocore, Pillow)
into the exceptions below, so nothing above them imports boto3 or PIL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class StorageError(Exception):
    """Object storage failed; usually transient (network, permissions, outage)."""


class ObjectNotFound(StorageError):
    """No object is stored under the key."""


class InvalidStorageKey(StorageError):
    """The key could escape the storage root or is malformed."""


class DirectUploadUnsupported(StorageError):
    """This storage cannot take uploads straight from a browser."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    content_type: str


@dataclass(frozen=True)
class PresignedPost:
    """Where and how a browser posts a file straight to storage."""

    url: str
    fields: dict[str, str]
    expires_in: int


class Storage(Protocol):
    """Object storage: a flat namespace of keys holding bytes and a content type."""

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """Store ``data`` under ``key``, replacing what was there."""

    def get(self, key: str) -> bytes:
        """The bytes under ``key``; :class:`ObjectNotFound` if none."""

    def head(self, key: str) -> StoredObject:
        """Size and content type of ``key``; :class:`ObjectNotFound` if none."""

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""

    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""

    def list_keys(self, prefix: str) -> list[str]:
        """Every key starting with ``prefix``, sorted."""

    def signed_url(self, key: str, *, expires_in: int) -> str:
        """A URL a browser can GET ``key`` from until ``expires_in`` seconds pass."""

    def presigned_post(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> PresignedPost:
        """A form post that stores one file of ``content_type`` and <= ``max_bytes`` at ``key``."""


class ImageRejected(Exception):
    """An image that will not be processed, with a stable code and an HTTP status."""

    def __init__(self, message: str, *, code: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


@dataclass(frozen=True)
class ImageInfo:
    """What the header of an accepted upload says."""

    format: str
    content_type: str
    width: int
    height: int


@dataclass(frozen=True)
class RenderedImage:
    """One encoded rendition, free of metadata."""

    name: str
    width: int
    height: int
    content_type: str
    data: bytes = field(repr=False)

    @property
    def extension(self) -> str:
        return {"image/jpeg": "jpg", "image/png": "png"}[self.content_type]


class ImagePipeline(Protocol):
    """Checks uploads from their header and turns accepted ones into renditions."""

    def inspect(self, data: bytes) -> ImageInfo:
        """Sniff and read the header only; :class:`ImageRejected` if refused."""

    def render(self, data: bytes) -> list[RenderedImage]:
        """Decode once and make every rendition; :class:`ImageRejected` if it cannot."""
