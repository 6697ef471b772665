"""What the content domain works with, built once per app from settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.common.db import Database
from services.common.outbox import EventConsumer, Outbox
from services.content.interfaces import ImagePipeline, Storage
from services.content.settings import ContentSettings
from services.content.signed_urls import SignedUrlCache
from services.content.signing import UrlSigner


@dataclass
class ContentContext:
    """Settings, database, outbox, storage and image pipeline of one content app."""

    settings: ContentSettings
    db: Database
    outbox: Outbox
    consumer: EventConsumer
    storage: Storage
    images: ImagePipeline
    signer: UrlSigner
    # Renditions' signed URLs as pages present them: reused briefly, see signed_urls.
    signed_urls: SignedUrlCache
    # Hands an asset id to the worker; set once the Celery app exists.
    enqueue_processing: Callable[[int], None]

    def cover_url(self, pack_id: int) -> str:
        """The stable public URL of a pack's social card (redirects to a signed URL)."""
        return f"{self.settings.content_public_url}/media/packs/{pack_id}/social-card"
