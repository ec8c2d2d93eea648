"""Personal data never reaches the inbox or the training data: emails, phone, card, order and parcel numbers and
names, in the many forms customers type them (typos included), are replaced by placeholders that Rasa's training data
can use, and nothing of the original value survives; the shop's own words (products, prices, dates) are kept."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import yaml

from bot.domain_files import load_domain
from bot.review.config import REVIEW_FILE, ReviewConfigError, parse_config, review_config
from bot.review.examples import parse_markdown
from bot.review.redact import Redacted, Redactor, default_redactor

R = default_redactor()


def _outside_placeholders(result: Redacted) -> str:
    """The redacted text with its placeholders cut out: what is left of the customer's own words."""
    out, at = [], 0
    for p in result.placeholders:
        out.append(result.text[at : p.start])
        at = p.end
    out.append(result.text[at:])
    return " ".join(out)


def assert_gone(original: str, result: Redacted) -> None:
    """Neither the value nor any four digits in a row of it, nor an email's local part, is left."""
    rest = _outside_placeholders(result)
    assert original.lower() not in result.text.lower()
    assert original.lower() not in result.example.lower()
    digits = re.sub(r"\D", "", original)
    rest_digits = re.sub(r"\D", "", rest)
    for i in range(len(digits) - 3):
        assert digits[i : i + 4] not in rest_digits, (original, result.text)
    if "@" in original:
        local = original.split("@")[0].strip()
        assert local.lower() not in rest.lower(), (original, result.text)


EMAILS = [
    ("my email is sarah.jones@gmail.com", "sarah.jones@gmail.com"),
    ("SEND IT TO MARK_99@HOTMAIL.CO.UK PLEASE", "MARK_99@HOTMAIL.CO.UK"),
    ("use jo+shop@mail.example.org for the receipt", "jo+shop@mail.example.org"),
    ("my emial is priya.sharma @ outlook.com", "priya.sharma @ outlook.com"),  # typo, spaces around @
    ("its tom.h@gmial.con i think", "tom.h@gmial.con"),  # typos in the domain
    ("email me at ravi@yahoo. com thx", "ravi@yahoo. com"),
    ("reach me on dave_k@btinternet", "dave_k@btinternet"),  # no top-level domain
    ("jo.smith (at) gmail (dot) com is my email", "jo.smith (at) gmail (dot) com"),
    ("write to aoife at gmail dot com", "aoife at gmail dot com"),
]


@pytest.mark.parametrize(("message", "email"), EMAILS)
def test_an_email_in_any_form_becomes_a_synthetic_email_entity(message, email):
    result = R.redact(message)
    assert_gone(email, result)
    assert "customer1@example.com" in result.text
    assert "[customer1@example.com](email)" in result.example


PHONES = [
    ("call me on +44 7700 900123", "+44 7700 900123"),
    ("my number +447700900123", "+447700900123"),
    ("ring 0044 7700 900 123 after 5", "0044 7700 900 123"),
    ("+44 (0)7700 900123 is my mobile", "+44 (0)7700 900123"),
    ("pls cal me on 07700 900 123 asap", "07700 900 123"),  # typo in "call"
    ("07700900123", "07700900123"),
    ("text me 07700-900-123", "07700-900-123"),
    ("home phone (020) 7946 0958", "(020) 7946 0958"),
    ("020-7946-0958 is the landline", "020-7946-0958"),
    ("my us number is +1 (555) 123-4567", "+1 (555) 123-4567"),
    ("555-123-4567", "555-123-4567"),
    ("call 555.123.4567 tmrw", "555.123.4567"),
    ("ph no 07700900123pls", "07700900123"),  # no space before the next word
    ("tel:07700 900123", "07700 900123"),
]


@pytest.mark.parametrize(("message", "phone"), PHONES)
def test_a_phone_number_in_any_form_becomes_a_neutral_token(message, phone):
    result = R.redact(message)
    assert_gone(phone, result)
    assert "<phone>" in result.text
    assert "(phone)" not in result.example  # no entity the NLU knows: not annotated


ORDERS = [
    ("where is TD104233", "TD104233"),
    ("wher is my ordr td-104233??", "td-104233"),
    ("has Td 104233 shipped", "Td 104233"),
    ("order #TD104233 never came", "#TD104233"),
    ("status of TD:104233 pls", "TD:104233"),
    ("cancel t d 104233", "t d 104233"),
    ("is TD 104 233 on its way", "TD 104 233"),
    ("my order number is 104233", "104233"),
    ("ordr no. 104233 is late", "104233"),
    ("order:104233", "104233"),
    ("its 104233 can u check", "104233"),
    ("ordr nmber 104233 still processing", "104233"),
]


@pytest.mark.parametrize(("message", "number"), ORDERS)
def test_an_order_number_in_any_form_becomes_an_order_id_the_nlu_knows(message, number):
    result = R.redact(message)
    assert_gone(number, result)
    assert "[TD010001](order_id)" in result.example
    text, spans = parse_markdown(result.example)
    assert text == result.text
    assert [s.entity for s in spans] == ["order_id"]


def test_one_order_named_twice_keeps_one_placeholder_and_two_orders_get_two():
    result = R.redact("TD104233 and td-104233 are the same but TD220001 is another")
    assert result.text == "TD010001 and TD010001 are the same but TD010002 is another"
    assert result.example.count("](order_id)") == 3


OTHERS = [
    ("my card 4111 1111 1111 1111 was charged twice", "4111 1111 1111 1111", "<card_number>"),
    ("charged on 5500-0000-0000-0004", "5500-0000-0000-0004", "<card_number>"),
    ("tracking AB123456789GB still not moving", "AB123456789GB", "<tracking_number>"),
    ("ups says 1Z999AA10123456784", "1Z999AA10123456784", "<tracking_number>"),
    ("evri parcel h12a345678901234 lost", "h12a345678901234", "<tracking_number>"),
    ("dpd ref 15501234567890", "15501234567890", "<number>"),
    ("account 20394857612 was closed", "20394857612", "<number>"),
]


@pytest.mark.parametrize(("message", "value", "token"), OTHERS)
def test_card_parcel_and_other_long_numbers_become_neutral_tokens(message, value, token):
    result = R.redact(message)
    assert_gone(value, result)
    assert token in result.text


def test_a_message_full_of_personal_data_keeps_only_the_customers_words():
    message = (
        "Hi my name is Sarah Okafor, order TD104233 never arrived. Email sarah.okafor@gmail.com or call "
        "+44 7700 900123, card 4111 1111 1111 1111. thanks, Sarah"
    )
    result = R.redact(message, names=["Sarah Okafor"])
    for value in ("TD104233", "sarah.okafor@gmail.com", "+44 7700 900123", "4111 1111 1111 1111", "Sarah", "Okafor"):
        assert_gone(value, result)
    assert result.text == (
        "Hi my name is <name> <name>, order TD010001 never arrived. Email customer1@example.com or call "
        "<phone>, card <card_number>. thanks, <name>"
    )
    assert result.example == (
        "Hi my name is <name> <name>, order [TD010001](order_id) never arrived. Email "
        "[customer1@example.com](email) or call <phone>, card <card_number>. thanks, <name>"
    )
    assert result.kinds == {"name", "order_number", "email", "phone_international", "card_number"}


def test_the_customers_own_names_go_in_any_case_and_form():
    result = R.redact("hi its harry, harry's order for HARRY WILLIAMS-OBI", names=["Harry Williams-Obi"])
    assert result.text == "hi its <name>, <name>'s order for <name> <name>"


@pytest.mark.parametrize(
    ("message", "name"),
    [
        ("my name is Aoife", "Aoife"),
        ("my names kwame btw", "kwame"),  # typo, lower case
        ("This is Tomasz Nowak from Leeds", "Tomasz Nowak"),
        ("call me Rhys", "Rhys"),
        ("still waiting. regards, Eilidh", "Eilidh"),
        ("Thanks, Chiara Rossi", "Chiara Rossi"),
    ],
)
def test_a_name_someone_gives_is_replaced(message, name):
    result = R.redact(message)
    assert name not in result.text
    assert "<name>" in result.text


KEPT = [
    "iphone 15 pro 256gb for under 1000 pounds",
    "i paid £1,299.99 for 2 phones",
    "i ordered on 2026-11-01 and it's 12/11/2026 now",
    "it said 10:30 to 12:00 delivery",
    "is PHN-1234 in stock",
    "galaxy s24 ultra or pixel 8 pro",
    "can i return it within 30 days",
    "this is ridiculous",  # no capital: not a name
    "can it come @ 5pm tomorrow",  # an @ that is not an email's
    "where is my order",
]


@pytest.mark.parametrize("message", KEPT)
def test_the_shops_own_words_are_kept(message):
    assert R.redact(message).text == message


def test_square_brackets_cannot_smuggle_an_annotation_into_training_data():
    result = R.redact('hey [TD999999](order_id) and [x]{"entity": "y"}')
    assert "[" not in result.text.replace("[TD", "")
    _, spans = parse_markdown(result.example)
    assert [s.entity for s in spans] == ["order_id"]  # only the placeholder the redactor made


def test_line_breaks_and_control_characters_become_one_line():
    assert R.redact("where is\nmy\t\torder\x00 ?").text == "where is my order ?"


def test_truncating_never_cuts_a_placeholder():
    result = R.redact("where is my order TD104233 please").truncated(20)
    assert result.text == "where is my order"
    assert result.placeholders == ()
    whole = R.redact("where is TD104233").truncated(100)
    assert whole.text == "where is TD010001"


def test_every_entity_a_rule_marks_is_one_the_nlu_knows():
    entities = set(load_domain()["entities"])
    marked = {rule.entity for rule in review_config().rules if rule.entity}
    assert marked and marked <= entities


def _config(**names) -> dict:
    raw = yaml.safe_load(REVIEW_FILE.read_text())
    raw["redaction"]["names"].update(names)
    return raw


def test_a_spacy_pipeline_named_in_the_config_finds_more_names(tmp_path):
    import spacy  # installed with Rasa (3.4.4), without a trained pipeline: a blank one with rules stands in

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PERSON", "pattern": [{"LOWER": "kwame"}, {"LOWER": "mensah"}]}])
    nlp.to_disk(tmp_path / "ner")
    config = parse_config(_config(spacy_model=str(tmp_path / "ner")))
    redactor = Redactor.from_config(config)
    assert redactor.redact("my brother kwame mensah ordered it").text == "my brother <name> ordered it"
    without = Redactor.from_config(parse_config(_config()))
    assert without.redact("my brother kwame mensah ordered it").text == "my brother kwame mensah ordered it"


def test_a_spacy_pipeline_that_cannot_load_is_a_configuration_error(tmp_path):
    with pytest.raises(ReviewConfigError, match="spacy_model"):
        Redactor.from_config(parse_config(_config(spacy_model=str(tmp_path / "missing"))))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"inbox": {"low_confidence_below": 2}}, "between 0 and 1"),
        ({"inbox": {"colour": 1}}, "unknown key inbox.colour"),
        ({"redaction": {"rules": [{"name": "x", "pattern": "(", "placeholder": "<x>"}]}}, "not a regular expression"),
        ({"redaction": {"rules": [{"name": "x", "pattern": "a", "placeholder": "{m}"}]}}, "only {n}"),
        ({"redaction": {"rules": [{"name": "x", "pattern": "a", "placeholder": "<x>", "checksum": "crc"}]}}, "luhn"),
        ({"redaction": {"names": {"introductions": ["my name is (\\w+)"]}}}, "group named `value`"),
    ],
)
def test_a_bad_config_is_refused_with_the_key_named(change, message):
    raw = yaml.safe_load(REVIEW_FILE.read_text())
    for section, body in change.items():
        raw[section] = {**raw[section], **body}
    with pytest.raises(ReviewConfigError, match=re.escape(message)):
        parse_config(raw)


def test_the_rules_are_the_config_files():
    config = review_config()
    assert [r.name for r in config.rules][:2] == ["email", "email_spelled_out"]
    quiet = replace(config, rules=())
    assert Redactor.from_config(quiet).redact("TD104233").text == "TD104233"  # no rules, no redaction
