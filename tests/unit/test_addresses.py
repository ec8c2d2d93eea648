"""Addresses as customers type them: what is stored, and when a request already says where the order should go."""

from __future__ import annotations

import pytest

from bot.shop.addresses import address_in_request, clean_address


@pytest.mark.parametrize(
    "text, expected",
    [
        ("12 Baker Street, London NW1 6XE", "12 Baker Street, London NW1 6XE"),
        ("  flat 4,\n 27 high st\n  leeds LS1 4HT ", "flat 4, 27 high st, leeds LS1 4HT"),
        ("Unit 3 Riverside Park, Bristol BS1 5TR.", "Unit 3 Riverside Park, Bristol BS1 5TR"),
        ("it's 9 Orchard Road, Bath BA1 2QT", "9 Orchard Road, Bath BA1 2QT"),
        ("ok the new address is: 2 Mill Lane York YO1 7HH", "2 Mill Lane York YO1 7HH"),
        ("please send it to 14 Quay St, Bristol BS1 4DB", "14 Quay St, Bristol BS1 4DB"),
        ("send it to my work instead", None),  # no number: not something a courier can find
        ("12", None),
        ("SW1A 1AA", None),  # a postcode alone needs a street or house too
        ("", None),
        (None, None),
        ("1 " + "very long street " * 30, None),
    ],
)
def test_clean_address(text, expected):
    assert clean_address(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "please change the delivery address for TD106043 to 27 Harbour Street, Whitby YO21 3PU",
            "27 Harbour Street, Whitby YO21 3PU",
        ),
        (
            "can my parcel go to my work instead im never home in the day its 3 station approach guildford gu1 4ex "
            "order TD106028",
            "3 station approach guildford gu1 4ex",
        ),
        ("new adress for my order is Flat 2, 10 High St, Leeds LS1 1AA thx", "Flat 2, 10 High St, Leeds LS1 1AA"),
        ("moved 2 weeks ago, send TD105001 to 5 Oak Road York YO1 7HH", "5 Oak Road York YO1 7HH"),
        ("i’d like it delivered at 12a Mill Lane, Bath BA1 2QT instead", "12a Mill Lane, Bath BA1 2QT"),
        # not the whole address: the customer is asked for it instead of a part being stored
        ("change the address on TD106043", None),
        ("can you send it to 27 Harbour Street instead", None),  # no postcode
        ("send it to YO21 3PU", None),  # no house or street
        ("", None),
        (None, None),
        ("12 " + "very long street " * 100 + "YO21 3PU", None),
    ],
)
def test_the_address_a_request_carries_is_found_whole_or_not_at_all(text, expected):
    assert address_in_request(text) == expected
