"""Stories are Markdown; the portal gets sanitised HTML."""

from __future__ import annotations

import functools
from typing import Final

import nh3
from markdown_it import MarkdownIt

# CommonMark with raw HTML off: authors write Markdown, never markup.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

_ALLOWED_TAGS: Final = {
    "a", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "img", "li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES: Final = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}


@functools.lru_cache(maxsize=2048)
def render_story(markdown: str) -> str:
    """Markdown to HTML that is safe to put in a page (no scripts, no handlers, safe links).

    Cached by text: a page of packs renders every story on every read, at a few
    milliseconds each, while stories change rarely.
    """
    return nh3.clean(
        _markdown.render(markdown),
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
