"""An asset whose processing kept failing on storage is processed once storage is back.

Storage refuses the renditions longer than the task's retries: the asset ends
FAILED ``PROCESSING_ERROR`` and its task in ``dead_letters``. Once storage is
fixed, an operator's ``fanfare events dead-letters retry`` puts it back, and
the real worker makes its renditions. A file that is itself the problem is
not redone.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import update

from fanfare.cli import main
from services.content.models import Asset
from tests.content.conftest import content_settings, jpeg_bytes
from tests.content.test_tasks import StartStack, asset_body, dead_letters, start_stack
from tests.content.test_worker import asset_status, worker_environment
from tests.support.workers import wait_until

__all__ = ["start_stack"]  # the fixture, shared with test_tasks


def retry_letter(letter_id: int, database_url: str, redis_url: str, tmp_path: Path) -> Result:
    """``fanfare events dead-letters retry`` as an operator runs it, configured as the worker."""
    env = worker_environment(content_settings(database_url, redis_url, tmp_path / "files"))
    command = ["events", "dead-letters", "retry", str(letter_id), "--service", "content"]
    return CliRunner().invoke(main, command, env=env)


def test_an_asset_dead_lettered_on_storage_errors_is_processed_after_storage_is_fixed(
    start_stack: StartStack, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    # given an asset whose renditions storage refused past its retries
    api, worker = start_stack(asset_task_max_attempts=2)
    blocked = tmp_path / "files" / "objects" / "renditions"
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_bytes(b"a file where the renditions directory should be")
    asset = api.upload(api.create_pack()["id"], jpeg_bytes()).json
    assert asset is not None
    wait_until(
        lambda: asset_status(api, asset["id"]) == "FAILED", timeout=60, message=worker.log_tail()
    )
    [letter] = dead_letters(api)

    # when storage is fixed and an operator retries the letter
    blocked.unlink()
    result = retry_letter(letter["id"], database_url, redis_url, tmp_path)

    # then the asset is processed after all, with every rendition, and the letter is gone
    assert result.exit_code == 0, result.output
    assert f"asset:{asset['id']} put back and content.process_asset sent again" in result.output
    wait_until(
        lambda: asset_status(api, asset["id"]) == "READY", timeout=60, message=worker.log_tail()
    )
    body = asset_body(api, asset["id"])
    assert body["failure_code"] is None
    assert {rendition["name"] for rendition in body["renditions"]} == {
        "thumbnail",
        "social_card",
        "square",
        "story",
        "original",
    }
    assert dead_letters(api) == []


def test_an_asset_whose_file_is_the_problem_is_not_redone(
    start_stack: StartStack, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    # given a dead-lettered asset that ended FAILED because its file killed the worker
    api, worker = start_stack(asset_task_max_attempts=2)
    blocked = tmp_path / "files" / "objects" / "renditions"
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_bytes(b"a file where the renditions directory should be")
    asset = api.upload(api.create_pack()["id"], jpeg_bytes()).json
    assert asset is not None
    wait_until(
        lambda: asset_status(api, asset["id"]) == "FAILED", timeout=60, message=worker.log_tail()
    )
    with api.runtime.db.transaction() as session:
        session.execute(
            update(Asset)
            .where(Asset.id == int(asset["id"]))
            .values(failure_code="PROCESSING_ABORTED")
        )
    [letter] = dead_letters(api)

    # when an operator retries it
    result = retry_letter(letter["id"], database_url, redis_url, tmp_path)

    # then it is refused, the asset stays FAILED and the letter stays for someone to look at
    assert result.exit_code == 1
    assert "no longer failed" in result.output
    assert asset_body(api, asset["id"])["failure_code"] == "PROCESSING_ABORTED"
    assert [row["id"] for row in dead_letters(api)] == [letter["id"]]
