"""A multipart/form-data body read from the uploaded file as it is sent.

requests would build a multipart body in memory; this one has a known length
(so no chunked encoding is needed) and reads the file a block at a time.
"""

from __future__ import annotations

import secrets
from typing import IO


class MultipartFileStream:
    """``read()``-able form with text fields and one file part; ``len()`` is exact."""

    def __init__(
        self,
        *,
        fields: dict[str, str],
        file_field: str,
        filename: str,
        content_type: str,
        stream: IO[bytes],
        size: int,
    ) -> None:
        self.boundary = "fanfare-" + secrets.token_hex(16)
        head = b"".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
            for name, value in fields.items()
        )
        safe_name = filename.replace('"', "").replace("\r", "").replace("\n", "")
        head += (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{file_field}"; filename="{safe_name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._parts: list[IO[bytes] | bytes] = [head, stream, tail]
        self._length = len(head) + size + len(tail)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        chunks: list[bytes] = []
        wanted = size if size is not None and size >= 0 else None
        while self._parts and (wanted is None or wanted > 0):
            part = self._parts[0]
            if isinstance(part, bytes):
                take = part if wanted is None else part[:wanted]
                rest = b"" if wanted is None else part[wanted:]
                chunks.append(take)
                if rest:
                    self._parts[0] = rest
                else:
                    self._parts.pop(0)
            else:
                block = part.read(-1 if wanted is None else wanted)
                if not block:
                    self._parts.pop(0)
                    continue
                chunks.append(block)
            if wanted is not None:
                wanted -= len(chunks[-1])
        return b"".join(chunks)
