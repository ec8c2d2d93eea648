"""The widget channel refuses malformed, empty, huge and forged messages with a clear reason."""

import pytest

from bot.channels.signed_rest import ChannelError, parse_request
from bot.identity import sign_customer


def test_a_signed_message_carries_the_verified_customer():
    token = sign_customer("CUST-00001")
    sender, text, metadata = parse_request(
        {"sender": " conv-1 ", "message": "where is my order", "metadata": {"customer_token": token}}, 100
    )
    assert (sender, text) == ("conv-1", "where is my order")
    assert metadata == {"customer_id": "CUST-00001", "customer_token": token}


def test_metadata_is_rebuilt_so_a_client_cannot_claim_a_customer():
    _, _, metadata = parse_request({"sender": "c", "message": "hi", "metadata": {"customer_id": "CUST-00002"}}, 100)
    assert metadata == {}


@pytest.mark.parametrize(
    "payload, status, reason",
    [
        ([], 400, "JSON object"),
        ({"message": "hi"}, 400, "sender"),
        ({"sender": "", "message": "hi"}, 400, "sender"),
        ({"sender": "x" * 200, "message": "hi"}, 400, "sender"),
        ({"sender": "c", "message": None}, 400, "string"),
        ({"sender": "c", "message": "   "}, 400, "empty"),
        ({"sender": "c", "message": "a" * 101}, 413, "too long"),
        ({"sender": "c", "message": "hi", "metadata": "x"}, 400, "metadata"),
        ({"sender": "c", "message": "hi", "metadata": {"customer_token": "forged"}}, 401, "invalid"),
        (
            {"sender": "c", "message": "hi", "metadata": {"customer_token": sign_customer("C", ttl_seconds=-5)}},
            401,
            "expired",
        ),
    ],
)
def test_bad_requests_get_a_status_and_a_reason(payload, status, reason):
    with pytest.raises(ChannelError) as caught:
        parse_request(payload, 100)
    assert caught.value.status == status
    assert reason in caught.value.message


@pytest.mark.parametrize("token", ["\udcd5abc", "eyJ\ud800.x.y", "€" * 10, "a" * 5000])
def test_a_token_that_is_not_even_ascii_is_refused_not_a_crash(token):
    with pytest.raises(ChannelError) as caught:
        parse_request({"sender": "c", "message": "hi", "metadata": {"customer_token": token}}, 100)
    assert caught.value.status == 401


def test_a_sender_with_control_characters_or_lone_surrogates_is_refused():
    for sender in ("conv\x00", "conv\ud800", "a\u202eb\n"):
        with pytest.raises(ChannelError) as caught:
            parse_request({"sender": sender, "message": "hi"}, 100)
        assert caught.value.status == 400


def test_nul_characters_and_lone_surrogates_in_a_message_are_made_storable_not_lost():
    _, text, _ = parse_request({"sender": "c", "message": "where\x00 is \ud800my order"}, 100)
    assert text == "where is ?my order"
    text.encode("utf-8")  # every store can keep it
