"""What an operator can redo in content after its cause is fixed (``fanfare events
dead-letters retry``): an asset whose processing kept failing on storage or the
database.

Such an asset ends FAILED ``PROCESSING_ERROR`` with its task parked in
``dead_letters``. Once storage is back, putting it back to PROCESSING with its
delivery count cleared is all a redo needs: the task, sent again, makes the
renditions under the same content-hashed keys, and the stuck-asset sweep
queues it again should that task be lost. An asset FAILED for any other
reason is not redone: its file is the problem (``PROCESSING_ABORTED``: it
killed its worker; ``PROCESSING_TIMEOUT``, ``IMAGE_TOO_COMPLEX``, a bad image),
and the marketer uploads another.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from services.common.dead_letters import TaskRedo
from services.common.utc_time import utcnow
from services.content.assets import PROCESS_ASSET_TASK
from services.content.models import Asset

# The failure code of processing that kept failing on storage or the service
# (services/content/tasks.py), the only one a redo can cure.
REDOABLE_FAILURE = "PROCESSING_ERROR"


def redo_asset_processing(session: Session, payload: dict[str, Any]) -> bool:
    """FAILED PROCESSING_ERROR -> PROCESSING, attempts cleared; False for anything else."""
    result = session.execute(
        update(Asset)
        .where(
            Asset.id == int(payload["asset_id"]),
            Asset.status == "FAILED",
            Asset.failure_code == REDOABLE_FAILURE,
        )
        .values(
            status="PROCESSING",
            failure_code=None,
            failure_message=None,
            attempts=0,
            updated_at=utcnow(),
        )
    )
    return cast(CursorResult[Any], result).rowcount == 1


TASK_REDOERS: dict[str, TaskRedo] = {PROCESS_ASSET_TASK: redo_asset_processing}
