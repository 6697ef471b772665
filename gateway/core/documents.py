"""Parsed and validated documents, cached: a repeated query is never parsed twice."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, validate

from gateway.core.limits import DocumentFacts, analyse_document


@dataclass(frozen=True)
class PreparedDocument:
    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    facts: DocumentFacts | None


class DocumentCache:
    """An LRU of prepared documents by query text, safe across threads."""

    def __init__(self, schema: GraphQLSchema, *, size: int, max_tokens: int = 5000) -> None:
        self.schema = schema
        self.size = size
        self.max_tokens = max_tokens
        self._entries: OrderedDict[str, PreparedDocument] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, query: str) -> PreparedDocument:
        with self._lock:
            entry = self._entries.get(query)
            if entry is not None:
                self._entries.move_to_end(query)
                return entry
        entry = self._prepare(query)
        if self.size:
            with self._lock:
                self._entries[query] = entry
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return entry

    def _prepare(self, query: str) -> PreparedDocument:
        try:
            # The token limit stops a huge document before the parser builds it.
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError as error:
            return PreparedDocument(None, (error,), None)
        errors = validate(self.schema, document, max_errors=20)
        if errors:
            return PreparedDocument(document, tuple(errors), None)
        return PreparedDocument(document, (), analyse_document(document))
