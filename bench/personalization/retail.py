"""The UCI "Online Retail" data set as recommender training data: real purchase histories with timestamps.

A UK online gift shop's invoice lines, 2010-2011 (CC BY 4.0), columns
`InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country`. Beside the synthetic shop
it says how the recommenders do on customers nobody designed. Each purchase line becomes one implicit
"purchase" event (`EVENT_WEIGHTS`), so the recommenders see it as they see the shop's own orders.

What is left out, and counted: cancellations (invoice "C..."; they undo an order, they are not a taste),
lines without a customer id (a history needs a customer), lines with no positive quantity (stock
adjustments), non-product codes (postage, fees, discounts, manual lines: real stock codes start with a
digit; "POST" bought by every foreign customer would otherwise top every list) and malformed lines (a file
from the internet is not trusted: a bad line is skipped, never fatal).
"""

from __future__ import annotations

import csv
import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bot.personalization.training_data import EVENT_WEIGHTS, Interactions, ItemCatalog

log = logging.getLogger(__name__)

COLUMNS = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID")
DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M")
OTHER_CATEGORY = "other"

# Coarse product buckets for content similarity's category token, from words of the description; the first
# bucket with a matching word wins ("CHRISTMAS LUNCH BAG" is Christmas). Items matching none are "other".
CATEGORY_WORDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("christmas", frozenset({"CHRISTMAS", "XMAS", "ADVENT", "SANTA", "REINDEER", "SNOWFLAKE"})),
    ("bags", frozenset({"BAG", "BAGS", "SHOPPER", "TOTE"})),
    ("candles_lights", frozenset({"CANDLE", "CANDLES", "T-LIGHT", "LIGHT", "LIGHTS", "LANTERN", "NIGHTLIGHT"})),
    (
        "kitchen_dining",
        frozenset(
            {
                "MUG",
                "MUGS",
                "CUP",
                "CUPS",
                "TEACUP",
                "SAUCER",
                "BOWL",
                "PLATE",
                "PLATES",
                "CUTLERY",
                "JAR",
                "TIN",
                "TINS",
                "BOTTLE",
                "BAKING",
                "CAKE",
                "COOKIE",
                "CUTTERS",
                "NAPKINS",
                "LUNCH",
                "BEAKER",
                "JUG",
                "TEAPOT",
                "APRON",
                "SPOON",
                "SPOONS",
                "TRAY",
                "KITCHEN",
                "PANTRY",
                "COASTER",
                "COASTERS",
                "EGG",
                "SCALES",
                "DOILY",
                "DOILIES",
                "CASES",
                "GLASS",
                "TEA",
            }
        ),
    ),
    (
        "cards_stationery",
        frozenset(
            {
                "CARD",
                "CARDS",
                "WRAP",
                "PAPER",
                "NOTEBOOK",
                "PENCILS",
                "PENCIL",
                "PEN",
                "STICKERS",
                "STICKER",
                "TAPE",
                "ENVELOPE",
                "ENVELOPES",
                "CHALKBOARD",
                "RIBBON",
                "RIBBONS",
                "TISSUES",
                "ERASER",
                "STATIONERY",
            }
        ),
    ),
    (
        "toys_kids",
        frozenset(
            {
                "TOY",
                "TOYS",
                "GAME",
                "GAMES",
                "JIGSAW",
                "PUZZLE",
                "DOLLY",
                "SPACEBOY",
                "CHILDRENS",
                "PLAYHOUSE",
                "SKITTLES",
                "DOMINOES",
                "FELTCRAFT",
                "DOLL",
                "TEDDY",
            }
        ),
    ),
    ("garden", frozenset({"GARDEN", "PLANT", "PLANTER", "WATERING", "BIRD", "FLOWERPOT"})),
    (
        "accessories",
        frozenset(
            {
                "NECKLACE",
                "BRACELET",
                "EARRINGS",
                "RING",
                "HAIR",
                "PURSE",
                "WALLET",
                "UMBRELLA",
                "CHARM",
                "BROOCH",
            }
        ),
    ),
    (
        "home_decor",
        frozenset(
            {
                "SIGN",
                "FRAME",
                "CLOCK",
                "DOORMAT",
                "CUSHION",
                "DECORATION",
                "DECORATIONS",
                "BUNTING",
                "GARLAND",
                "HOOK",
                "HOOKS",
                "KNOB",
                "MIRROR",
                "WICKER",
                "HANGING",
                "ORNAMENT",
                "WREATH",
                "DRAWER",
                "STORAGE",
                "BOX",
                "BOXES",
                "BASKET",
                "HOLDER",
                "VASE",
                "HEART",
            }
        ),
    ),
)
_WORD = re.compile(r"[A-Z0-9'\-]+")


@dataclass(frozen=True)
class RetailRead:
    """What `load_retail` read, and how many lines it left out for each reason (see the module docstring)."""

    interactions: Interactions
    catalog: ItemCatalog
    skipped: dict[str, int]


def load_retail(path: str | Path) -> RetailRead:
    """Read an Online Retail CSV (with its header line; columns found by name, in any order)."""
    skipped: Counter[str] = Counter()
    users: list[str] = []
    items: list[str] = []
    stamps: list[int] = []
    descriptions: defaultdict[str, Counter[str]] = defaultdict(Counter)
    prices: defaultdict[str, list[float]] = defaultdict(list)
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        rows = csv.reader(handle)
        try:
            header = [name.strip().lstrip("\ufeff") for name in next(rows)]
        except StopIteration:
            header = []
        missing = [name for name in COLUMNS if name not in header]
        if missing:
            raise ValueError(f"{path}: not an Online Retail file, missing columns {missing}")
        col = {name: header.index(name) for name in COLUMNS}
        width = len(header)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                break
            except csv.Error:  # e.g. a field over csv's size limit: skip the line, keep reading
                skipped["malformed"] += 1
                continue
            if not row or not any(field.strip() for field in row):
                continue
            reason = _parse(row, col, width, users, items, stamps, descriptions, prices)
            if reason:
                skipped[reason] += 1
    interactions = _interactions(users, items, stamps)
    catalog = _catalog(interactions.item_ids, descriptions, prices)
    return RetailRead(interactions, catalog, dict(sorted(skipped.items())))


def read_retail(path: str | Path) -> tuple[Interactions, ItemCatalog]:
    """The purchases as interactions and the products as a catalog; logs how many lines were left out, why."""
    result = load_retail(path)
    if result.skipped:
        log.info("%s: lines left out: %s", path, result.skipped)
    log.info(
        "%s: %d purchases by %d customers of %d products",
        path,
        result.interactions.n_events,
        result.interactions.n_users,
        result.interactions.n_items,
    )
    return result.interactions, result.catalog


def category_of(description: str) -> str:
    """The coarse bucket of a product description (CATEGORY_WORDS), OTHER_CATEGORY when no word matches."""
    words = set(_WORD.findall(description.upper()))
    for category, keywords in CATEGORY_WORDS:
        if words & keywords:
            return category
    return OTHER_CATEGORY


def _parse(
    row: list[str],
    col: dict[str, int],
    width: int,
    users: list[str],
    items: list[str],
    stamps: list[int],
    descriptions: defaultdict[str, Counter[str]],
    prices: defaultdict[str, list[float]],
) -> str | None:
    """Append one purchase line to the columns; the reason it was left out otherwise."""
    if len(row) != width:  # e.g. an unquoted comma in a description: the columns after it are shifted
        return "malformed"
    invoice = row[col["InvoiceNo"]].strip()
    code = row[col["StockCode"]].strip().upper()
    customer = row[col["CustomerID"]].strip()
    try:
        quantity = float(row[col["Quantity"]])
        stamp = _timestamp(row[col["InvoiceDate"]])
    except ValueError:
        return "malformed"
    if not invoice or not code:
        return "malformed"
    if invoice.upper().startswith("C"):
        return "cancellation"
    if not customer:
        return "no_customer"
    if not code[0].isdigit():
        return "not_a_product"
    if not quantity > 0:
        return "no_quantity"
    if customer.endswith(".0"):  # spreadsheets export the integer ids as floats
        customer = customer[:-2]
    users.append(customer)
    items.append(code)
    stamps.append(stamp)
    description = " ".join(row[col["Description"]].split())
    if description:
        descriptions[code][description] += 1
    price = _number(row[col["UnitPrice"]])
    if price > 0:  # a missing price only costs the catalog its price band, not the purchase
        prices[code].append(price)
    return None


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        return 0.0
    return value if np.isfinite(value) else 0.0


def _timestamp(text: str) -> int:
    """Unix seconds of an invoice date; the shop's local time read as UTC (only the order of events matters)."""
    text = text.strip()
    for fmt in DATE_FORMATS:
        try:
            return int(datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp())
        except ValueError:
            continue
    raise ValueError(f"unknown date format: {text!r}")


def _interactions(users: list[str], items: list[str], stamps: list[int]) -> Interactions:
    user_ids, user_index = np.unique(np.array(users, dtype=str), return_inverse=True)
    item_ids, item_index = np.unique(np.array(items, dtype=str), return_inverse=True)
    return Interactions(
        user_ids=user_ids.astype(object),
        item_ids=item_ids.astype(object),
        users=user_index.astype(np.int32),
        items=item_index.astype(np.int32),
        weights=np.full(len(users), EVENT_WEIGHTS["purchase"], dtype=np.float32),
        timestamps=np.array(stamps, dtype=np.int64),
    )


def _catalog(
    item_ids: np.ndarray, descriptions: dict[str, Counter[str]], prices: dict[str, list[float]]
) -> ItemCatalog:
    """Name and text: the code's most frequent description (they vary in spelling); price: its median."""
    names = [descriptions[code].most_common(1)[0][0] if descriptions.get(code) else code for code in item_ids]
    n = len(item_ids)
    return ItemCatalog(
        item_ids=np.asarray(item_ids, dtype=object),
        names=np.array(names, dtype=object),
        categories=np.array([category_of(name) for name in names], dtype=object),
        brands=np.full(n, "", dtype=object),
        prices=np.array([np.median(prices[code]) if prices.get(code) else 0.0 for code in item_ids], dtype=np.float64),
        text=np.array([name if descriptions.get(code) else "" for code, name in zip(item_ids, names)], dtype=object),
        family=np.full(n, None, dtype=object),
        fits=tuple(frozenset() for _ in range(n)),
        active=np.ones(n, dtype=bool),
    )
