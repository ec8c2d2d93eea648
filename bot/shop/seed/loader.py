"""The demo shop's data files (`data/`): the catalogue, the people and how they shop, read once into frozen values.

YAML entries and CSV columns are named like the fields below; a missing or unknown name is an error that says
which file it is in, so a typo in the data cannot quietly change the shop.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.shop.seed.rules import check_rule

DATA_DIR = Path(__file__).resolve().parent / "data"

# (value, relative weight) pairs, drawn in this order.
Weights = tuple[tuple[Any, int], ...]


class SeedDataError(ValueError):
    """A data file of the demo shop is malformed."""


def money(value: float | int | str) -> Decimal:
    """A price as written in a data file, to the penny."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Phone:
    family: str
    brand: str
    model: str
    screen_in: float
    connector: str
    wireless_charging: bool
    release_year: int
    on_sale: bool
    price_by_storage: Mapping[str, Decimal]
    colours: tuple[str, ...]
    pitch: str


@dataclass(frozen=True)
class LaptopConfiguration:
    ram: str
    storage: str
    price: Decimal


@dataclass(frozen=True)
class Laptop:
    family: str
    brand: str
    model: str
    screen_in: float
    chip: str
    configurations: tuple[LaptopConfiguration, ...]
    colours: tuple[str, ...]
    pitch: str


@dataclass(frozen=True)
class Tablet:
    family: str
    brand: str
    model: str
    screen_in: float
    price_by_storage: Mapping[str, Decimal]
    colours: tuple[str, ...]
    pitch: str


@dataclass(frozen=True)
class WatchSize:
    case_mm: int
    cellular: bool
    price: Decimal


@dataclass(frozen=True)
class Smartwatch:
    family: str
    brand: str
    model: str
    sizes: tuple[WatchSize, ...]
    colours: tuple[str, ...]
    pitch: str


@dataclass(frozen=True)
class Headphones:
    brand: str
    title: str
    type: str
    noise_cancelling: bool
    battery_hours: int
    price: Decimal
    colours: tuple[str, ...]


@dataclass(frozen=True)
class PhoneAccessory:
    """A case or screen protector, made once for every phone model that it fits (`name` has `{model}`)."""

    brand: str
    name: str
    type: str
    price: Decimal
    families: tuple[str, ...]
    colour: str
    material: str
    only_if: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class FittingProduct:
    """A charger, cable or laptop accessory: one product that fits devices of several families."""

    brand: str
    name: str
    type: str
    price: Decimal
    families: tuple[str, ...]
    description: str
    only_if: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class MobilePlan:
    name: str
    data_allowance: str
    data_gb: int | None  # None: unlimited (or shared)
    network: str
    contract_months: int
    price: Decimal
    eu_roaming: bool
    for_smartwatch: bool


@dataclass(frozen=True)
class BroadbandPlan:
    name: str
    download_mbps: int
    upload_mbps: int
    technology: str
    contract_months: int
    price: Decimal
    router: str


@dataclass(frozen=True)
class CatalogData:
    """What the shop sells (catalog.yml and one file per category)."""

    sku_prefixes: Mapping[str, str]  # category -> SKU prefix
    smartwatch_pairs: Mapping[str, tuple[str, ...]]  # smartwatch family -> phone families it pairs with
    serial_prefixes: Mapping[str, str]  # brand -> serial number prefix (brands without a format of their own)
    phones: tuple[Phone, ...]
    laptops: tuple[Laptop, ...]
    tablets: tuple[Tablet, ...]
    smartwatches: tuple[Smartwatch, ...]
    headphones: tuple[Headphones, ...]
    phone_accessories: tuple[PhoneAccessory, ...]
    chargers_cables: tuple[FittingProduct, ...]
    laptop_accessories: tuple[FittingProduct, ...]
    mobile_plans: tuple[MobilePlan, ...]
    home_internet: tuple[BroadbandPlan, ...]


@dataclass(frozen=True)
class People:
    """Names and addresses of the generated customers (people.yml, towns.csv)."""

    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    streets: tuple[str, ...]
    email_domains: tuple[str, ...]
    postcode_letters: str
    towns: tuple[tuple[str, str], ...]  # (town, postcode area)


@dataclass(frozen=True)
class SecondDevice:
    by_phone: Mapping[str, Weights]  # phone family -> weights of this device's families
    otherwise: Weights  # for a phone family not listed


@dataclass(frozen=True)
class Shopping:
    """How the generated customers shop (shopping.yml)."""

    phone_families: Weights
    second_devices: Mapping[str, SecondDevice]  # category (laptops, tablets, smartwatches) -> families
    orders_per_customer: Weights
    carriers: Weights


def _yaml(name: str) -> Any:
    return yaml.safe_load((DATA_DIR / name).read_text(encoding="utf-8"))


def _csv(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _make(cls: type, entry: Mapping[str, Any], source: str, **convert: Callable[[Any], Any]) -> Any:
    """`cls` from a file's named fields, each converted by its `convert` function when it has one."""
    try:
        return cls(**{key: convert[key](value) if key in convert else value for key, value in entry.items()})
    except (TypeError, ValueError, KeyError, ArithmeticError) as exc:
        raise SeedDataError(f"{source}: bad entry {dict(entry)!r}: {exc}") from exc


def _prices(prices: Mapping[str, Any]) -> dict[str, Decimal]:
    return {str(key): money(value) for key, value in prices.items()}


def _weights(weights: Mapping[Any, int]) -> Weights:
    return tuple(weights.items())


def _yes_no(text: str) -> bool:
    return {"yes": True, "no": False}[text]


def _rule(rule: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if rule is not None:
        check_rule(rule)
    return rule


@lru_cache(maxsize=1)
def catalog_data() -> CatalogData:
    """The catalogue's data files."""
    facts = _yaml("catalog.yml")

    def entries(category: str, cls: type, **convert: Callable[[Any], Any]) -> tuple[Any, ...]:
        name = f"{category}.yml"
        return tuple(_make(cls, entry, name, **convert) for entry in _yaml(name))

    fitting: dict[str, Callable[[Any], Any]] = {"price": money, "families": tuple, "only_if": _rule}
    return CatalogData(
        sku_prefixes=dict(facts["sku_prefixes"]),
        smartwatch_pairs={family: tuple(phones) for family, phones in facts["smartwatch_pairs"].items()},
        serial_prefixes=dict(facts["serial_prefixes"]),
        phones=entries("phones", Phone, price_by_storage=_prices, colours=tuple),
        laptops=entries(
            "laptops",
            Laptop,
            colours=tuple,
            configurations=lambda configurations: tuple(
                _make(LaptopConfiguration, c, "laptops.yml", price=money) for c in configurations
            ),
        ),
        tablets=entries("tablets", Tablet, price_by_storage=_prices, colours=tuple),
        smartwatches=entries(
            "smartwatches",
            Smartwatch,
            colours=tuple,
            sizes=lambda sizes: tuple(_make(WatchSize, s, "smartwatches.yml", price=money) for s in sizes),
        ),
        headphones=entries("headphones", Headphones, price=money, colours=tuple),
        phone_accessories=entries("phone_accessories", PhoneAccessory, **fitting),
        chargers_cables=entries("chargers_cables", FittingProduct, **fitting),
        laptop_accessories=entries("laptop_accessories", FittingProduct, **fitting),
        mobile_plans=tuple(
            _make(
                MobilePlan,
                row,
                "mobile_plans.csv",
                data_gb=lambda gb: int(gb) if gb else None,
                contract_months=int,
                price=money,
                eu_roaming=_yes_no,
                for_smartwatch=_yes_no,
            )
            for row in _csv("mobile_plans.csv")
        ),
        home_internet=tuple(
            _make(
                BroadbandPlan,
                row,
                "home_internet.csv",
                download_mbps=int,
                upload_mbps=int,
                contract_months=int,
                price=money,
            )
            for row in _csv("home_internet.csv")
        ),
    )


@lru_cache(maxsize=1)
def people() -> People:
    """The name and address pools."""
    pools = _yaml("people.yml")
    towns = tuple((row["town"], row["postcode_area"]) for row in _csv("towns.csv"))
    return _make(
        People,
        {**pools, "towns": towns},
        "people.yml",
        first_names=tuple,
        last_names=tuple,
        streets=tuple,
        email_domains=tuple,
    )


@lru_cache(maxsize=1)
def shopping() -> Shopping:
    """The weights the generator draws customers' devices, orders and carriers from."""
    habits = _yaml("shopping.yml")
    second = {
        category: SecondDevice(
            by_phone={family: _weights(w) for family, w in (choice.get("by_phone") or {}).items()},
            otherwise=_weights(choice["otherwise"]),
        )
        for category, choice in habits["second_devices"].items()
    }
    return _make(
        Shopping,
        {**habits, "second_devices": second},
        "shopping.yml",
        phone_families=_weights,
        orders_per_customer=_weights,
        carriers=_weights,
    )
