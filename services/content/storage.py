"""Object storage behind one interface: a local directory or S3, chosen by STORAGE_URL."""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services.content.interfaces import (
    DirectUploadUnsupported,
    InvalidStorageKey,
    ObjectNotFound,
    PresignedPost,
    Storage,
    StorageError,
    StoredObject,
)
from services.content.settings import ContentSettings
from services.content.signing import UrlSigner

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,510}$")
LOCAL_MEDIA_PATH = "/media/files/"


def check_key(key: str) -> str:
    """Keys are relative slash-separated names: no '..', no empty parts, no odd characters."""
    if not _KEY.match(key) or any(part in ("", ".", "..") for part in key.split("/")):
        raise InvalidStorageKey(f"invalid storage key {key!r}")
    return key


class LocalStorage:
    """Files under a directory; signed URLs point at the service's own media endpoint."""

    def __init__(self, root: Path, *, public_url: str, signer: UrlSigner) -> None:
        self.root = root
        self.public_url = public_url.rstrip("/")
        self.signer = signer

    def _paths(self, key: str) -> tuple[Path, Path]:
        check_key(key)
        return self.root / "objects" / key, self.root / "types" / key

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        data_path, type_path = self._paths(key)
        try:
            _write_atomically(type_path, json.dumps({"content_type": content_type}).encode())
            _write_atomically(data_path, data)
        except OSError as exc:
            raise StorageError(f"could not write {key}: {exc}") from exc

    def get(self, key: str) -> bytes:
        data_path, _ = self._paths(key)
        try:
            return data_path.read_bytes()
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc
        except OSError as exc:
            raise StorageError(f"could not read {key}: {exc}") from exc

    def path_of(self, key: str) -> Path:
        """Where ``key`` lives on disk, for serving it; :class:`ObjectNotFound` if absent."""
        data_path, _ = self._paths(key)
        if not data_path.is_file():
            raise ObjectNotFound(key)
        return data_path

    def head(self, key: str) -> StoredObject:
        data_path, type_path = self._paths(key)
        try:
            size = data_path.stat().st_size
            content_type = json.loads(type_path.read_bytes())["content_type"]
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc
        except (OSError, ValueError, KeyError) as exc:
            raise StorageError(f"could not stat {key}: {exc}") from exc
        return StoredObject(key=key, size=size, content_type=str(content_type))

    def exists(self, key: str) -> bool:
        return self._paths(key)[0].is_file()

    def delete(self, key: str) -> None:
        for path in self._paths(key):
            path.unlink(missing_ok=True)

    def list_keys(self, prefix: str) -> list[str]:
        base = self.root / "objects"
        if not base.is_dir():
            return []
        keys = (
            path.relative_to(base).as_posix()
            for path in base.rglob("*")
            if path.is_file() and not path.name.startswith(".tmp-")
        )
        return sorted(key for key in keys if key.startswith(prefix))

    def signed_url(self, key: str, *, expires_in: int) -> str:
        check_key(key)
        expires_at = int(time.time()) + expires_in
        path = LOCAL_MEDIA_PATH + key
        # No escaping needed: check_key admits only URL-safe characters, the expiry is
        # digits and the signature URL-safe base64.
        signature = self.signer.sign(path, expires_at)
        return f"{self.public_url}{path}?expires={expires_at}&sig={signature}"

    def presigned_post(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> PresignedPost:
        raise DirectUploadUnsupported(
            "Direct uploads need S3 storage; upload the file to the service instead."
        )


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class S3Storage:
    """Objects in an S3 bucket under a prefix; boto3 errors become storage errors."""

    def __init__(self, client: Any, *, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        with _translated(key):
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type
            )

    def get(self, key: str) -> bytes:
        with _translated(key):
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            body: bytes = response["Body"].read()
            return body

    def head(self, key: str) -> StoredObject:
        with _translated(key):
            response = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        return StoredObject(
            key=key,
            size=int(response["ContentLength"]),
            content_type=str(response.get("ContentType") or "application/octet-stream"),
        )

    def exists(self, key: str) -> bool:
        try:
            self.head(key)
        except ObjectNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        with _translated(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        with _translated(prefix):
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                keys.extend(item["Key"][len(self.prefix) :] for item in page.get("Contents", []))
        return sorted(keys)

    def signed_url(self, key: str, *, expires_in: int) -> str:
        with _translated(key):
            url: str = self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self._key(key)},
                ExpiresIn=expires_in,
            )
        return url

    def presigned_post(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> PresignedPost:
        with _translated(key):
            post = self.client.generate_presigned_post(
                Bucket=self.bucket,
                Key=self._key(key),
                Fields={"Content-Type": content_type},
                Conditions=[
                    {"Content-Type": content_type},
                    ["content-length-range", 1, max_bytes],
                ],
                ExpiresIn=expires_in,
            )
        return PresignedPost(
            url=str(post["url"]),
            fields={str(k): str(v) for k, v in post["fields"].items()},
            expires_in=expires_in,
        )


@contextmanager
def _translated(key: str) -> Iterator[None]:
    """Turn botocore's errors into the storage errors of the interface."""
    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("NoSuchKey", "404", "NotFound"):
            raise ObjectNotFound(key) from exc
        raise StorageError(f"S3 refused {key}: {code or exc}") from exc
    except BotoCoreError as exc:
        raise StorageError(f"S3 unreachable for {key}: {exc}") from exc


def storage_from_settings(settings: ContentSettings) -> Storage:
    """The storage STORAGE_URL names: ``file:///dir`` or ``s3://bucket/prefix``."""
    url = urlsplit(settings.storage_url)
    if url.scheme == "file":
        return LocalStorage(
            Path(url.path),
            public_url=settings.content_public_url,
            signer=UrlSigner(settings.media_signing_key),
        )
    options: dict[str, Any] = {"region_name": settings.s3_region}
    if settings.s3_endpoint_url:
        options["endpoint_url"] = settings.s3_endpoint_url
    access_key = settings.s3_access_key_id.get_secret_value()
    if access_key:
        options["aws_access_key_id"] = access_key
        options["aws_secret_access_key"] = settings.s3_secret_access_key.get_secret_value()
    client = boto3.client(
        "s3",
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if settings.s3_endpoint_url else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
        ),
        **options,
    )
    return S3Storage(client, bucket=url.netloc, prefix=url.path)
