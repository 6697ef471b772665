"""Who is at the other end of a click: a person, a link-preview crawler, or another bot.

Link previews are fetched by the chat or social app when a link is pasted, not by
a person choosing to visit: they get the Open Graph page and are never counted
as clicks. Other bots, scanners, headless browsers and HTTP libraries are
counted apart. The maintained ``crawlerdetect`` list does the heavy lifting; the
patterns here name what it does not, or what must be told apart from it.
"""

from __future__ import annotations

import enum
import re
from functools import lru_cache

from crawlerdetect import CrawlerDetect


class VisitorKind(enum.StrEnum):
    HUMAN = "human"
    PREVIEW = "preview"
    BOT = "bot"


# Link unfurlers of chat and social apps. iMessage previews identify as
# facebookexternalhit + Twitterbot; Skype as SkypeUriPreview.
_PREVIEW_CRAWLERS = re.compile(
    r"facebookexternalhit|facebookcatalog|Facebot|Twitterbot|Slackbot|Slack-ImgProxy|"
    r"LinkedInBot|WhatsApp/|TelegramBot|Discordbot|Applebot|Pinterestbot|Pinterest/0\.|"
    r"SkypeUriPreview|redditbot|Embedly|vkShare|Mastodon/|Iframely|Google-PageRenderer|"
    r"Yahoo Link Preview|MicrosoftPreview|Tumblr/",
    re.IGNORECASE,
)

# Headless browsers and HTTP client libraries, beside crawlerdetect's own list.
_AUTOMATION = re.compile(
    r"HeadlessChrome|PhantomJS|Puppeteer|Playwright|Selenium|webdriver|"
    r"\bcurl/|Wget|python-requests|python-urllib|python-httpx|aiohttp|httpx|Go-http-client|"
    r"okhttp|Java/|Apache-HttpClient|libwww-perl|node-fetch|axios|undici|Ruby|"
    r"PostmanRuntime|insomnia|HTTPie|Scrapy|Nutch|masscan|zgrab|Nmap|nuclei",
    re.IGNORECASE,
)

_detector = CrawlerDetect()


@lru_cache(maxsize=8192)
def classify_user_agent(user_agent: str) -> VisitorKind:
    """Classify by user agent alone (cached: the same few thousand agents make most clicks)."""
    agent = user_agent.strip()
    if not agent:
        return VisitorKind.BOT
    if _PREVIEW_CRAWLERS.search(agent):
        return VisitorKind.PREVIEW
    if _AUTOMATION.search(agent) or _detector.isCrawler(agent):
        return VisitorKind.BOT
    return VisitorKind.HUMAN
