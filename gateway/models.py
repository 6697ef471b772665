"""The gateway's tables (users, sessions, API keys arrive with the gateway issue)."""

from __future__ import annotations

from services.common.db import new_metadata

metadata = new_metadata()
