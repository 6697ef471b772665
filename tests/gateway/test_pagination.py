"""Connections: a cursor on every edge, pageInfo right, and cursors that lead back."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.core.errors import BadUserInput
from gateway.core.pagination import connection_from_page, decode_cursor, page_window


def service_page(ids: list[int], *, has_next: bool, end_cursor: str | None) -> dict[str, Any]:
    return {
        "items": [{"id": str(i)} for i in ids],
        "page_info": {"has_next_page": has_next, "end_cursor": end_cursor},
        "total_count": 10,
    }


def test_every_edge_gets_a_cursor_that_continues_right_after_it() -> None:
    # given the first page of three items of a longer list
    window = page_window(3, None, 100)
    page = service_page([10, 9, 8], has_next=True, end_cursor="svc-after-8")

    # when it becomes a connection
    connection = connection_from_page(page, node_type="Thing", window=window)

    # then each edge's cursor names the place right after it
    cursors = [edge["cursor"] for edge in connection["edges"]]
    assert [decode_cursor(cursor) for cursor in cursors] == [
        (None, 1),
        (None, 2),
        ("svc-after-8", 0),
    ]
    assert connection["page_info"] == {
        "has_next_page": True,
        "has_previous_page": False,
        "start_cursor": cursors[0],
        "end_cursor": cursors[2],
    }
    assert connection["total_count"] == 10


def test_a_cursor_in_the_middle_of_a_page_asks_the_service_for_enough_to_skip() -> None:
    # given the cursor of the first edge of a page fetched after "svc-a"
    first_page = connection_from_page(
        service_page([7, 6, 5], has_next=True, end_cursor="svc-b"),
        node_type="Thing",
        window=page_window(3, None, 100),
    )
    middle = first_page["edges"][0]["cursor"]

    # when the next page of two is asked for after it
    window = page_window(2, middle, 100)

    # then the service is asked for three from the start, and the first is skipped
    assert window.params == {"first": 3}
    connection = connection_from_page(
        service_page([7, 6, 5], has_next=True, end_cursor="svc-b"),
        node_type="Thing",
        window=window,
    )
    assert [edge["node"]["id"] for edge in connection["edges"]] == ["6", "5"]
    assert connection["page_info"]["has_next_page"] is True


def test_a_shorter_last_page_has_no_next_page() -> None:
    connection = connection_from_page(
        service_page([2, 1], has_next=False, end_cursor="svc-c"),
        node_type="Thing",
        window=page_window(5, None, 100),
    )
    assert [edge["node"]["id"] for edge in connection["edges"]] == ["2", "1"]
    assert connection["page_info"]["has_next_page"] is False


def test_an_empty_page_has_no_cursors() -> None:
    connection = connection_from_page(
        service_page([], has_next=False, end_cursor=None),
        node_type="Thing",
        window=page_window(5, None, 100),
    )
    assert connection["edges"] == []
    assert connection["page_info"]["start_cursor"] is None
    assert connection["page_info"]["end_cursor"] is None


@pytest.mark.parametrize("cursor", ["not-a-cursor", "Z3cxOng6YWJj"])
def test_a_cursor_we_did_not_give_out_is_refused_clearly(cursor: str) -> None:
    # "Z3cxOng6YWJj" is "gw1:x:abc": our prefix, but no position
    with pytest.raises(BadUserInput, match="cursor this list gave out"):
        page_window(5, cursor, 100)


def test_first_beyond_the_limit_is_refused() -> None:
    with pytest.raises(BadUserInput, match="between 0 and 100"):
        page_window(101, None, 100)
