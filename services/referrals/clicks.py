"""A click as it travels from the redirect to the clicks table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from services.referrals.classify import VisitorKind


@dataclass(frozen=True)
class Click:
    click_id: str
    link_id: int
    pack_id: str
    kind: VisitorKind
    visitor_hash: str | None
    ip_hash: str | None
    occurred_at: float  # seconds since the epoch, UTC

    @property
    def moment(self) -> datetime:
        return datetime.fromtimestamp(self.occurred_at, UTC)

    def encode(self) -> str:
        return json.dumps(
            [
                self.click_id,
                self.link_id,
                self.pack_id,
                self.kind.value,
                self.visitor_hash,
                self.ip_hash,
                self.occurred_at,
            ],
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, data: str | bytes) -> Click:
        click_id, link_id, pack_id, kind, visitor_hash, ip_hash, occurred_at = json.loads(data)
        return cls(
            click_id=str(click_id),
            link_id=int(link_id),
            pack_id=str(pack_id),
            kind=VisitorKind(kind),
            visitor_hash=visitor_hash,
            ip_hash=ip_hash,
            occurred_at=float(occurred_at),
        )
