"""The GraphQL multipart request spec: ``operations``, ``map`` and the files.

https://github.com/jaydenseric/graphql-multipart-request-spec. One file per
request, placed into the operation's variables where ``map`` says.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from gateway.core.errors import BadUserInput


@dataclass
class UploadedFile:
    """A file as it arrived: read from ``stream``; ``size`` bytes."""

    filename: str
    content_type: str | None
    stream: IO[bytes]
    size: int


def operations_with_files(
    form: Mapping[str, str], files: Mapping[str, UploadedFile], *, max_files: int
) -> Any:
    """The ``operations`` JSON with each file put where ``map`` says."""
    if len(files) > max_files:
        raise BadUserInput(f"Send at most {max_files} file per request.", limit=max_files)
    try:
        operations = json.loads(form.get("operations") or "")
        mapping = json.loads(form.get("map") or "{}")
    except ValueError as exc:
        raise BadUserInput("'operations' and 'map' must be JSON.") from exc
    if not isinstance(operations, dict | list) or not isinstance(mapping, dict):
        raise BadUserInput("'operations' must be a JSON object and 'map' a JSON object.")
    if len(mapping) > max_files:
        raise BadUserInput(f"Send at most {max_files} file per request.", limit=max_files)
    for file_key, paths in mapping.items():
        upload = files.get(file_key)
        if upload is None:
            raise BadUserInput(f"'map' names file {file_key!r}, which was not sent.")
        if not isinstance(paths, list) or not paths:
            raise BadUserInput(f"'map' must give a list of paths for file {file_key!r}.")
        for path in paths:
            _place(operations, str(path), upload)
    return operations


def _place(operations: Any, path: str, upload: UploadedFile) -> None:
    parts = path.split(".")
    target = operations
    try:
        for part in parts[:-1]:
            target = target[int(part)] if isinstance(target, list) else target[part]
        last = parts[-1]
        if isinstance(target, list):
            index = int(last)
            if target[index] is not None:
                raise BadUserInput(f"'map' path {path!r} must point at a null placeholder.")
            target[index] = upload
        else:
            if target.get(last, None) is not None:
                raise BadUserInput(f"'map' path {path!r} must point at a null placeholder.")
            target[last] = upload
    except (KeyError, IndexError, ValueError, TypeError, AttributeError) as exc:
        raise BadUserInput(f"'map' path {path!r} does not exist in 'operations'.") from exc
