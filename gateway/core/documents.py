"""Parsed and validated documents, cached: a repeated query is never parsed twice."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, validate

from gateway.core.limits import DocumentFacts, analyse_document

# GraphQL's tokens, matched in C: the pure-Python parser takes a second or more
# to reach its own token limit on a loaded machine, so a document is counted
# here first and a huge one is refused before any of it is parsed.
_TOKEN = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'  # block string
    r'|"(?:[^"\\\n]|\\.)*"'  # string
    r"|#[^\n\r]*"  # comment: skipped, not counted, as the parser does
    r"|\.\.\.|[!$&()\[\]{}:=@|]"  # punctuators
    r"|-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"  # numbers
    r"|[_A-Za-z][_0-9A-Za-z]*"  # names
)


def more_tokens_than(query: str, limit: int) -> bool:
    """True if ``query`` holds more than ``limit`` GraphQL tokens (stops counting there)."""
    count = 0
    for match in _TOKEN.finditer(query):
        if match.group()[0] != "#":
            count += 1
            if count > limit:
                return True
    return False


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
        if more_tokens_than(query, self.max_tokens):
            # The same refusal the parser gives at its limit, without parsing.
            refusal = GraphQLError(
                f"Document contains more than {self.max_tokens} tokens. Parsing aborted."
            )
            return PreparedDocument(None, (refusal,), None)
        try:
            # The parser's own limit stays: it is the authority on what a token is.
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError as error:
            return PreparedDocument(None, (error,), None)
        errors = validate(self.schema, document, max_errors=20)
        if errors:
            return PreparedDocument(document, tuple(errors), None)
        return PreparedDocument(document, (), analyse_document(document))
