"""The widget channel refuses malformed, empty, huge and forged messages with a clear reason."""

import pytest

from bot.channels.signed_rest import ChannelError, parse_request
from bot.identity import sign_customer


def test_a_signed_message_carries_the_verified_customer():
    token = sign_customer("CUST-00001")
    sender, text, metadata = parse_request({"sender": " conv-1 ", "message": "where is my order", "metadata": {"customer_token": token}}, 100)
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
        ({"sender": "c", "message": "hi", "metadata": {"customer_token": sign_customer("C", ttl_seconds=-5)}}, 401, "expired"),
    ],
)
def test_bad_requests_get_a_status_and_a_reason(payload, status, reason):
    with pytest.raises(ChannelError) as caught:
        parse_request(payload, 100)
    assert caught.value.status == status
    assert reason in caught.value.message
