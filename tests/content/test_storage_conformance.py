"""One storage contract, two implementations: a local directory and S3 (a real SeaweedFS)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from services.content.interfaces import (
    DirectUploadUnsupported,
    InvalidStorageKey,
    ObjectNotFound,
    Storage,
)
from services.content.settings import ContentSettings
from services.content.signing import UrlSigner
from services.content.storage import LocalStorage, storage_from_settings
from tests.content.conftest import SECRET
from tests.support.s3 import SeaweedS3


def s3_settings(s3_server: SeaweedS3, bucket: str, **overrides: str) -> ContentSettings:
    return ContentSettings(
        environment="test",
        database_url="sqlite://",
        internal_token_secret=SECRET,
        storage_url=f"s3://{bucket}/fanfare/content",
        s3_endpoint_url=s3_server.endpoint_url,
        s3_region=s3_server.region,
        s3_access_key_id=s3_server.access_key,
        s3_secret_access_key=s3_server.secret_key,
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "local":
        yield storage_from_settings(
            ContentSettings(
                environment="test",
                database_url="sqlite://",
                internal_token_secret=SECRET,
                storage_url=f"file://{tmp_path / 'files'}",
            )
        )
        return
    s3_server: SeaweedS3 = request.getfixturevalue("s3_server")
    yield storage_from_settings(s3_settings(s3_server, s3_server.create_bucket()))


def test_put_then_get_head_exists_and_list(storage: Storage) -> None:
    # when two objects are stored
    storage.put("renditions/abc.jpg", b"jpeg-bytes", content_type="image/jpeg")
    storage.put("renditions/def.png", b"png", content_type="image/png")

    # then each reads back with its size and type, and both are listed by prefix
    assert storage.get("renditions/abc.jpg") == b"jpeg-bytes"
    head = storage.head("renditions/abc.jpg")
    assert (head.size, head.content_type) == (10, "image/jpeg")
    assert storage.exists("renditions/def.png")
    assert storage.list_keys("renditions/") == ["renditions/abc.jpg", "renditions/def.png"]
    assert storage.list_keys("uploads/") == []


def test_put_replaces_and_delete_removes(storage: Storage) -> None:
    storage.put("a/key", b"one", content_type="image/png")
    storage.put("a/key", b"two", content_type="image/png")
    assert storage.get("a/key") == b"two"

    storage.delete("a/key")
    storage.delete("a/key")  # deleting twice is fine

    assert not storage.exists("a/key")


def test_a_missing_key_is_object_not_found(storage: Storage) -> None:
    with pytest.raises(ObjectNotFound):
        storage.get("nope/missing")
    with pytest.raises(ObjectNotFound):
        storage.head("nope/missing")


@pytest.mark.parametrize("key", ["../escape", "a/../../b", "/absolute", "a//b", "", "a\\b"])
def test_keys_that_could_escape_are_refused(storage: Storage, key: str) -> None:
    with pytest.raises(InvalidStorageKey):
        storage.put(key, b"x", content_type="image/png")


def test_a_signed_url_serves_the_object_until_it_expires(storage: Storage, tmp_path: Path) -> None:
    # given a stored object
    storage.put("renditions/card.jpg", b"\xff\xd8\xffcard", content_type="image/jpeg")

    # when a signed URL for it is made
    url = storage.signed_url("renditions/card.jpg", expires_in=60)
    expired = storage.signed_url("renditions/card.jpg", expires_in=1)

    # then it names the object and carries an expiry and a signature
    if isinstance(storage, LocalStorage):
        assert url.startswith("http://127.0.0.1:8001/media/files/renditions/card.jpg?expires=")
        assert "sig=" in url
        return
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == b"\xff\xd8\xffcard"
    assert fetched.headers["Content-Type"] == "image/jpeg"
    time.sleep(2.1)
    assert requests.get(expired, timeout=10).status_code == 403
    unsigned = url.split("?")[0]
    assert requests.get(unsigned, timeout=10).status_code == 403


def test_presigned_post_limits_size_and_type(storage: Storage) -> None:
    # when a direct upload is asked for
    if isinstance(storage, LocalStorage):
        # then local storage says plainly that it cannot
        with pytest.raises(DirectUploadUnsupported):
            storage.presigned_post(
                "uploads/direct/x", content_type="image/png", max_bytes=100, expires_in=60
            )
        return
    post = storage.presigned_post(
        "uploads/direct/x", content_type="image/png", max_bytes=100, expires_in=60
    )

    def send(data: bytes, content_type: str = "image/png") -> requests.Response:
        fields = {**post.fields, "Content-Type": content_type}
        return requests.post(
            post.url, data=fields, files={"file": ("x.png", data, content_type)}, timeout=10
        )

    # then a file within the policy is stored, and a larger or other-typed one is not
    assert send(b"\x89PNG" + b"0" * 50).status_code in (200, 204)
    assert storage.get("uploads/direct/x").startswith(b"\x89PNG")
    storage.delete("uploads/direct/x")
    assert send(b"0" * 500).status_code == 400
    assert send(b"0" * 50, "text/html").status_code == 403
    assert not storage.exists("uploads/direct/x")


def test_local_signatures_are_checked_by_the_signer() -> None:
    signer = UrlSigner(b"k" * 32)
    signature = signer.sign("/media/files/a.jpg", 2_000_000_000)

    assert signer.verify("/media/files/a.jpg", 2_000_000_000, signature, now=1_900_000_000)
    assert not signer.verify("/media/files/b.jpg", 2_000_000_000, signature, now=1_900_000_000)
    assert not signer.verify("/media/files/a.jpg", 2_000_000_000, signature, now=2_000_000_001)
