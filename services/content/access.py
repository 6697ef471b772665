"""Who is asking, in the content service's terms: role, tier, and what they may do."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.errors import Forbidden
from services.content.models import TIERS

MANAGER_ROLES = frozenset({"marketer", "admin"})
CONTENT_READ_SCOPE = "CONTENT_READ"


@dataclass(frozen=True)
class Viewer:
    """The caller: a marketer or admin manages packs; everyone else reads published ones."""

    role: str
    user_id: str | None = None
    tier: str = "FAN"
    scopes: tuple[str, ...] = ()

    @property
    def manages_content(self) -> bool:
        return self.role in MANAGER_ROLES

    @property
    def fan_id(self) -> str | None:
        return self.user_id if self.role == "fan" else None

    def tier_reaches(self, min_tier: str) -> bool:
        """Whether this viewer's tier is at least ``min_tier``; managers reach every tier."""
        return self.manages_content or TIERS.index(self.tier) >= TIERS.index(min_tier)

    def require_reader(self) -> None:
        if self.role == "partner" and CONTENT_READ_SCOPE not in self.scopes:
            raise Forbidden("This API key lacks the CONTENT_READ scope.", code="MISSING_SCOPE")

    def require_manager(self) -> None:
        if not self.manages_content:
            raise Forbidden("Only marketers and admins manage content packs.")

    def require_fan(self) -> str:
        if self.fan_id is None:
            raise Forbidden("Only signed-in fans leave feedback.")
        return self.fan_id
