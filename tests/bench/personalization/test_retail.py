"""Reading the UCI Online Retail file: purchases become events, everything else is left out and counted."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from bench.personalization.retail import category_of, load_retail, read_retail
from bot.personalization.training_data import EVENT_WEIGHTS

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
LINES = [
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26,2.55,17850,United Kingdom",
    "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26,3.39,17850,United Kingdom",
    "536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28,1.85,17850.0,United Kingdom",  # float id
    "536367,85123a,WHITE HANGING HEART T-LIGHT HOLDER ,2,2010-12-02 09:00,2.95,13047,United Kingdom",
    "536368,22960,JAM MAKING SET WITH JARS,3,12/3/2010 10:15,4.25,13047,United Kingdom",  # original UCI dates
    "C536379,85123A,WHITE HANGING HEART T-LIGHT HOLDER,-1,2010-12-03 09:41,2.55,17850,United Kingdom",
    "536370,22728,ALARM CLOCK BAKELIKE PINK,24,2010-12-03 08:45,3.75,,France",  # no customer
    "536370,POST,POSTAGE,3,2010-12-03 08:45,18.00,12583,France",  # not a product
    "536371,22961,JAM MAKING SET PRINTED,-5,2010-12-03 11:00,0,13047,United Kingdom",  # stock adjustment
    "536372,22961,JAM MAKING SET PRINTED,two,2010-12-03 11:00,1.45,13047,United Kingdom",  # malformed
    "536373,22961,JAM MAKING SET PRINTED,1,yesterday,1.45,13047,United Kingdom",  # malformed date
    "536374,22961,JAM, PRINTED,1,2010-12-03 11:00,1.45,13047,United Kingdom",  # unquoted comma: shifted
    '536375,22961,"JAM MAKING SET, PRINTED",1,2010-12-04 11:00,oops,13047,United Kingdom',  # bad price only
    "",
]


@pytest.fixture()
def retail_csv(tmp_path):
    path = tmp_path / "online_retail.csv"
    path.write_text(HEADER + "\n".join(LINES) + "\n", encoding="utf-8")
    return path


def utc(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp())


def test_each_purchase_line_becomes_one_purchase_event_of_its_customer(retail_csv):
    inter, catalog = read_retail(retail_csv)
    events = sorted(
        (inter.user_ids[u], inter.item_ids[i], int(t)) for u, i, t in zip(inter.users, inter.items, inter.timestamps)
    )
    assert events == [
        ("13047", "22960", utc("2010-12-03 10:15")),
        ("13047", "22961", utc("2010-12-04 11:00")),
        ("13047", "85123A", utc("2010-12-02 09:00")),
        ("17850", "22633", utc("2010-12-01 08:28")),
        ("17850", "71053", utc("2010-12-01 08:26")),
        ("17850", "85123A", utc("2010-12-01 08:26")),
    ]
    assert np.all(inter.weights == EVENT_WEIGHTS["purchase"])  # quantity is stock, not taste
    assert list(catalog.item_ids) == list(inter.item_ids)


def test_lines_that_are_not_purchases_are_left_out_and_counted_by_reason(retail_csv):
    result = load_retail(retail_csv)
    assert result.skipped == {
        "cancellation": 1,
        "malformed": 3,
        "no_customer": 1,
        "no_quantity": 1,
        "not_a_product": 1,
    }
    assert "POST" not in set(result.catalog.item_ids)
    assert "22728" not in set(result.catalog.item_ids)  # bought only by an anonymous customer


def test_catalog_describes_each_product_by_its_most_frequent_description(retail_csv):
    _, catalog = read_retail(retail_csv)
    heart = list(catalog.item_ids).index("85123A")
    assert catalog.names[heart] == "WHITE HANGING HEART T-LIGHT HOLDER"
    assert catalog.text[heart] == "WHITE HANGING HEART T-LIGHT HOLDER"
    assert catalog.prices[heart] == pytest.approx(2.75)  # median of 2.55 and 2.95
    assert catalog.categories[heart] == "candles_lights"
    assert set(catalog.family) == {None} and all(not fits for fits in catalog.fits)
    assert catalog.active.all()


def test_category_is_the_first_bucket_a_description_word_names():
    assert category_of("CHRISTMAS LUNCH BAG") == "christmas"
    assert category_of("JUMBO BAG RED RETROSPOT") == "bags"
    assert category_of("COOK WITH WINE METAL SIGN") == "home_decor"
    assert category_of("INFLATABLE POLITICAL GLOBE") == "other"


def test_a_file_without_the_retail_columns_is_refused(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("userId,movieId,rating,timestamp\n1,2,5,0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing columns"):
        read_retail(path)
