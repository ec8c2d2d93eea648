"""Deterministic demo shop: catalog, customers, order histories, owned devices and plans.

Why deterministic: demos, tests and bug reports must be reproducible, so the same `(seed, anchor)` always
produces the same rows. Every random draw comes from one `random.Random(seed)` in a fixed order; nothing
iterates over a set or depends on the database's ids, the clock or the global `random` module.

The shop's clock during generation is `anchor` at 12:00 UTC: orders of the last ~10 days are still on their
way (placed / processing / shipped / out for delivery, a few late), older ones are delivered, returned or
cancelled, with timestamps consistent with their status.
"""

from __future__ import annotations

import random
import time as _time
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Callable, Iterator, Sequence

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session
from tqdm import tqdm

from bot.db.models import (
    Customer,
    CustomerDevice,
    CustomerPlan,
    Order,
    OrderLine,
    Product,
    ProductCompatibility,
    utcnow,
)
from bot.shop.catalog import CATEGORY_NAMES, DEVICE_CATEGORIES

HISTORY_DAYS = 548  # ~18 months of order history before the anchor
RECENT_DAYS = 10  # orders still in flight are placed within this many days
SEED_CLOCK = time(12, 0)  # "now" of the generated shop, on the anchor date (UTC)
MAX_CUSTOMERS = 99_999  # external ids are CUST-00001 .. CUST-99999
_CHUNK = 2_000  # rows per INSERT executemany


class ShopAlreadySeeded(RuntimeError):
    """The database already holds shop data; seeding again would duplicate or collide with it."""


@dataclass(frozen=True)
class SeedSummary:
    """What `seed_shop` wrote (printed by `tandem seed`)."""

    seed: int
    anchor: date
    products: int
    compatibility_links: int
    customers: int
    orders: int
    order_lines: int
    devices: int
    plans: int
    seconds: float = field(default=0.0, compare=False)

    def __str__(self) -> str:
        return (
            f"Seeded {self.products} products ({self.compatibility_links} compatibility links), "
            f"{self.customers} customers, {self.orders} orders ({self.order_lines} lines), "
            f"{self.devices} devices and {self.plans} plans "
            f"(seed {self.seed}, anchor {self.anchor.isoformat()}) in {self.seconds:.1f} s"
        )


def seed_now(anchor: date) -> datetime:
    """The generated shop's "now": `anchor` at 12:00 UTC (naive)."""
    return datetime.combine(anchor, SEED_CLOCK)


# --------------------------------------------------------------------------------------------------------------
# Catalog (fixed data: the seed only drives customers and their histories)
# --------------------------------------------------------------------------------------------------------------


@dataclass
class _ProductSpec:
    sku: str
    name: str
    category: str
    brand: str
    price: Decimal
    description: str
    attributes: dict[str, Any]
    family: str | None = None
    active: bool = True

    def row(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "name": self.name,
            "category": self.category,
            "brand": self.brand,
            "price": self.price,
            "description": self.description,
            "attributes": self.attributes,
            "family": self.family,
            "active": self.active,
        }


def _money(value: float | int | str) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


# family, brand, model, screen (in), connector, wireless charging, release year, on sale, {storage: price},
# colours, selling point
_PHONES: list[tuple[str, str, str, float, str, bool, int, bool, dict[str, int], list[str], str]] = [
    ("iphone", "Apple", "iPhone 13", 6.1, "lightning", True, 2021, False, {"128GB": 599, "256GB": 699},
     ["Midnight", "Starlight", "Blue"], "A15 Bionic chip and a dual 12MP camera"),
    ("iphone", "Apple", "iPhone 14", 6.1, "lightning", True, 2022, True, {"128GB": 699, "256GB": 799},
     ["Midnight", "Purple", "Starlight"], "crash detection and emergency SOS via satellite"),
    ("iphone", "Apple", "iPhone 15", 6.1, "usb-c", True, 2023, True, {"128GB": 799, "256GB": 899, "512GB": 1099},
     ["Black", "Blue", "Pink"], "Dynamic Island, a 48MP main camera and USB-C"),
    ("iphone", "Apple", "iPhone 15 Pro", 6.1, "usb-c", True, 2023, True,
     {"128GB": 999, "256GB": 1099, "512GB": 1299}, ["Natural Titanium", "Black Titanium", "Blue Titanium"],
     "a titanium design, the A17 Pro chip and a 3x telephoto camera"),
    ("iphone", "Apple", "iPhone 16", 6.1, "usb-c", True, 2024, True, {"128GB": 799, "256GB": 899},
     ["Black", "Ultramarine", "Teal"], "the A18 chip, Camera Control and Apple Intelligence"),
    ("iphone", "Apple", "iPhone 16 Pro", 6.3, "usb-c", True, 2024, True, {"128GB": 999, "256GB": 1099, "1TB": 1599},
     ["Desert Titanium", "Black Titanium"], "the A18 Pro chip, a 5x telephoto camera and 4K120 video"),
    ("galaxy", "Samsung", "Galaxy S23", 6.1, "usb-c", True, 2023, False, {"128GB": 699, "256GB": 759},
     ["Phantom Black", "Cream", "Lavender"], "Snapdragon 8 Gen 2 for Galaxy and a 50MP camera"),
    ("galaxy", "Samsung", "Galaxy S24", 6.2, "usb-c", True, 2024, True, {"128GB": 799, "256GB": 859},
     ["Onyx Black", "Marble Grey", "Cobalt Violet"], "Galaxy AI features and seven years of updates"),
    ("galaxy", "Samsung", "Galaxy A54", 6.4, "usb-c", False, 2023, True, {"128GB": 349, "256GB": 399},
     ["Awesome Graphite", "Awesome Lime"], "a 120Hz Super AMOLED display and a two-day battery"),
    ("galaxy", "Samsung", "Galaxy Z Flip5", 6.7, "usb-c", True, 2023, True, {"256GB": 999, "512GB": 1119},
     ["Mint", "Graphite", "Lavender"], "a foldable design with a 3.4\" Flex Window"),
    ("pixel", "Google", "Pixel 7a", 6.1, "usb-c", True, 2023, True, {"128GB": 399},
     ["Charcoal", "Sea", "Snow"], "Google Tensor G2 and a 64MP camera"),
    ("pixel", "Google", "Pixel 8", 6.2, "usb-c", True, 2023, True, {"128GB": 699, "256GB": 759},
     ["Obsidian", "Hazel", "Rose"], "Tensor G3, Best Take and Magic Eraser"),
    ("pixel", "Google", "Pixel 8 Pro", 6.7, "usb-c", True, 2023, True, {"128GB": 999, "256GB": 1059},
     ["Obsidian", "Porcelain", "Bay"], "a 5x telephoto lens and a built-in thermometer"),
    ("pixel", "Google", "Pixel 9", 6.3, "usb-c", True, 2024, True, {"128GB": 799, "256GB": 899},
     ["Obsidian", "Porcelain", "Peony"], "Tensor G4 and Gemini built in"),
    ("oneplus", "OnePlus", "OnePlus 11", 6.7, "usb-c", False, 2023, False, {"128GB": 729, "256GB": 799},
     ["Titan Black", "Eternal Green"], "Hasselblad cameras and 100W SUPERVOOC charging"),
    ("oneplus", "OnePlus", "OnePlus 12", 6.82, "usb-c", True, 2024, True, {"256GB": 849, "512GB": 999},
     ["Silky Black", "Flowy Emerald"], "Snapdragon 8 Gen 3 and 80W SUPERVOOC charging"),
    ("moto", "Motorola", "Moto G84", 6.55, "usb-c", False, 2023, True, {"256GB": 299},
     ["Midnight Blue", "Viva Magenta"], "a pOLED display and a 5,000mAh battery"),
    ("moto", "Motorola", "Edge 40", 6.55, "usb-c", True, 2023, True, {"256GB": 599},
     ["Eclipse Black", "Nebula Green"], "an IP68 curved display and 68W TurboPower charging"),
]

# family, brand, model, screen, chip, {spec: price}, colours, selling point
_LAPTOPS: list[tuple[str, str, str, float, str, dict[str, int], list[str], str]] = [
    ("macbook", "Apple", "MacBook Air 13", 13.6, "M3", {"8GB/256GB": 1099, "16GB/512GB": 1399},
     ["Midnight", "Starlight"], "a fanless design and up to 18 hours of battery life"),
    ("macbook", "Apple", "MacBook Air 15", 15.3, "M3", {"8GB/256GB": 1299, "16GB/512GB": 1599},
     ["Midnight", "Space Grey"], "a 15.3\" Liquid Retina display and six speakers"),
    ("macbook", "Apple", "MacBook Pro 14", 14.2, "M3 Pro", {"18GB/512GB": 1999, "36GB/1TB": 2599},
     ["Space Black", "Silver"], "a Liquid Retina XDR display and up to 18 hours of battery"),
    ("thinkpad", "Lenovo", "ThinkPad X1 Carbon Gen 12", 14.0, "Intel Core Ultra 7",
     {"16GB/512GB": 1799, "32GB/1TB": 2199}, ["Black"], "a 1.09kg carbon-fibre chassis and a legendary keyboard"),
    ("thinkpad", "Lenovo", "ThinkPad E14 Gen 5", 14.0, "Intel Core i5", {"16GB/512GB": 849},
     ["Graphite Black"], "business-grade durability at a sensible price"),
    ("xps", "Dell", "XPS 13", 13.4, "Intel Core Ultra 7", {"16GB/512GB": 1199, "32GB/1TB": 1599},
     ["Platinum", "Graphite"], "an edge-to-edge InfinityEdge display in a compact body"),
    ("xps", "Dell", "XPS 15", 15.6, "Intel Core i7", {"16GB/512GB": 1699, "32GB/1TB": 2199},
     ["Platinum"], "a 3.5K OLED option and an NVIDIA RTX 4050 GPU"),
    ("hp", "HP", "Spectre x360 14", 14.0, "Intel Core Ultra 7", {"16GB/1TB": 1499},
     ["Nightfall Black"], "a 2.8K OLED touch screen that folds into a tablet"),
    ("hp", "HP", "Pavilion 15", 15.6, "Intel Core i5", {"8GB/512GB": 649, "16GB/512GB": 749},
     ["Natural Silver"], "a full-size keyboard with a number pad for everyday work"),
    ("zenbook", "Asus", "Zenbook 14 OLED", 14.0, "Intel Core Ultra 5", {"16GB/512GB": 999, "16GB/1TB": 1149},
     ["Ponder Blue", "Jasper Grey"], "a 3K 120Hz OLED display and a 1.2kg body"),
]

# family, brand, model, screen, {storage: price}, colours, selling point
_TABLETS: list[tuple[str, str, str, float, dict[str, int], list[str], str]] = [
    ("ipad", "Apple", "iPad (10th generation)", 10.9, {"64GB": 349, "256GB": 499}, ["Blue", "Silver", "Pink"],
     "an all-screen design, A14 Bionic and USB-C"),
    ("ipad", "Apple", "iPad Air 11 (M2)", 11.0, {"128GB": 599, "256GB": 699}, ["Space Grey", "Starlight", "Purple"],
     "the M2 chip and Apple Pencil Pro support"),
    ("ipad", "Apple", "iPad Pro 11 (M4)", 11.0, {"256GB": 999, "512GB": 1199}, ["Space Black", "Silver"],
     "an Ultra Retina XDR tandem OLED display and the M4 chip"),
    ("galaxy_tab", "Samsung", "Galaxy Tab S9", 11.0, {"128GB": 799, "256GB": 899}, ["Graphite", "Beige"],
     "a Dynamic AMOLED 2X display, IP68 and an S Pen in the box"),
    ("galaxy_tab", "Samsung", "Galaxy Tab A9+", 11.0, {"64GB": 219, "128GB": 249}, ["Graphite", "Silver"],
     "a 90Hz display and quad speakers for streaming"),
    ("fire", "Amazon", "Fire HD 10", 10.1, {"32GB": 149.99, "64GB": 189.99}, ["Black", "Lilac", "Ocean"],
     "a 1080p display, Alexa hands-free and 13 hours of battery"),
    ("tab_p", "Lenovo", "Tab P12", 12.7, {"128GB": 349}, ["Storm Grey"],
     "a 12.7\" 3K display and the Lenovo Tab Pen Plus in the box"),
]

# family, brand, model, [(size mm, cellular, price)], colours, selling point
_WATCHES: list[tuple[str, str, str, list[tuple[int, bool, int]], list[str], str]] = [
    ("apple_watch", "Apple", "Watch Series 9", [(41, False, 399), (45, False, 429), (45, True, 529)],
     ["Midnight", "Starlight", "Red"], "the S9 chip, double tap and a brighter display"),
    ("apple_watch", "Apple", "Watch SE", [(40, False, 219), (44, False, 249)], ["Midnight", "Starlight"],
     "crash detection, heart-rate notifications and sleep tracking"),
    ("apple_watch", "Apple", "Watch Ultra 2", [(49, True, 799)], ["Natural Titanium"],
     "a 49mm titanium case, precision dual-frequency GPS and 36-hour battery"),
    ("galaxy_watch", "Samsung", "Galaxy Watch6", [(40, False, 289), (44, False, 319), (44, True, 369)],
     ["Graphite", "Silver"], "BioActive sensor, sleep coaching and a larger display"),
    ("galaxy_watch", "Samsung", "Galaxy Watch6 Classic", [(43, False, 369), (47, False, 399)], ["Black", "Silver"],
     "the rotating bezel and a stainless steel case"),
    ("pixel_watch", "Google", "Pixel Watch 2", [(41, False, 349), (41, True, 399)],
     ["Matte Black", "Polished Silver"], "Fitbit health tracking and 24-hour battery"),
    ("garmin", "Garmin", "Venu 3", [(45, False, 449)], ["Black"], "an AMOLED display and up to 14 days of battery"),
    ("garmin", "Garmin", "Forerunner 265", [(46, False, 349)], ["Black", "Whitestone"],
     "training readiness, HRV status and an AMOLED display"),
    ("garmin", "Garmin", "Fenix 7 Pro Solar", [(47, False, 699)], ["Slate Grey"],
     "solar charging, a built-in flashlight and multi-band GPS"),
]

# brand, product title, type, noise cancelling, battery hours, price, colours
_HEADPHONES: list[tuple[str, str, str, bool, int, float, list[str]]] = [
    ("Apple", "AirPods (3rd generation)", "in-ear", False, 30, 169, ["White"]),
    ("Apple", "AirPods Pro (2nd generation) with MagSafe Case (USB-C)", "in-ear", True, 30, 229, ["White"]),
    ("Apple", "AirPods Max over-ear headphones", "over-ear", True, 20, 499, ["Space Grey", "Silver", "Sky Blue"]),
    ("Sony", "WH-1000XM5 wireless noise cancelling headphones", "over-ear", True, 30, 379,
     ["Black", "Silver", "Midnight Blue"]),
    ("Sony", "WF-1000XM5 noise cancelling earbuds", "in-ear", True, 24, 259, ["Black", "Silver"]),
    ("Sony", "WH-CH720N wireless noise cancelling headphones", "over-ear", True, 35, 99, ["Black", "White", "Blue"]),
    ("Bose", "QuietComfort Ultra Headphones", "over-ear", True, 24, 449, ["Black", "White Smoke"]),
    ("Bose", "QuietComfort Ultra Earbuds", "in-ear", True, 24, 299, ["Black", "White Smoke"]),
    ("Bose", "QuietComfort 45 headphones", "over-ear", True, 24, 279, ["Black"]),
    ("Samsung", "Galaxy Buds2 Pro earbuds", "in-ear", True, 29, 219, ["Graphite", "White", "Bora Purple"]),
    ("Samsung", "Galaxy Buds FE earbuds", "in-ear", True, 30, 99, ["Graphite", "White"]),
    ("JBL", "Tune 520BT wireless on-ear headphones", "on-ear", False, 57, 49.99, ["Black", "Blue", "White"]),
    ("JBL", "Live 660NC wireless noise cancelling headphones", "over-ear", True, 50, 129.99, ["Black"]),
    ("JBL", "Tour Pro 2 earbuds with smart charging case", "in-ear", True, 40, 199.99, ["Black", "Champagne"]),
]

_ALL_PHONE_FAMILIES = ("iphone", "galaxy", "pixel", "oneplus", "moto")
_ANDROID_FAMILIES = ("galaxy", "pixel", "oneplus", "moto")

# brand, title template, type, price, families, model filter (None = every model), colour, material
_PHONE_ACCESSORIES: list[tuple[str, str, str, float, tuple[str, ...], Callable[[str], bool] | None, str, str]] = [
    ("Spigen", "Spigen Tough Armor case for {model}", "case", 19.99, _ALL_PHONE_FAMILIES, None, "Black",
     "polycarbonate and TPU"),
    ("Spigen", "Spigen Ultra Hybrid clear case for {model}", "case", 14.99, _ALL_PHONE_FAMILIES,
     lambda m: "Flip" not in m, "Crystal Clear", "TPU bumper with a clear back"),
    ("OtterBox", "OtterBox Defender Series case for {model}", "case", 49.99, ("iphone", "galaxy", "pixel"),
     lambda m: "Flip" not in m, "Black", "multi-layer polycarbonate with a holster"),
    ("OtterBox", "OtterBox Symmetry Series case for {model}", "case", 39.99, ("iphone", "galaxy"),
     lambda m: "Flip" not in m and "A54" not in m, "Black", "slim polycarbonate"),
    ("Apple", "Apple Silicone Case with MagSafe for {model}", "case", 49.00, ("iphone",), None, "Black",
     "silicone with a microfibre lining"),
    ("Apple", "Apple Clear Case with MagSafe for {model}", "case", 49.00, ("iphone",),
     lambda m: m not in ("iPhone 13", "iPhone 14"), "Clear", "polycarbonate"),
    ("Samsung", "Samsung Silicone Case for {model}", "case", 29.00, ("galaxy",), None, "Black", "silicone"),
    ("Belkin", "Belkin ScreenForce UltraGlass 2 screen protector for {model}", "screen_protector", 29.99,
     ("iphone", "galaxy", "pixel"), lambda m: "Flip" not in m, "Clear", "tempered glass"),
    ("Spigen", "Spigen GlasTR EZ Fit screen protector for {model} (2 pack)", "screen_protector", 14.99,
     _ALL_PHONE_FAMILIES, lambda m: "Flip" not in m, "Clear", "tempered glass"),
]


def _is_phone(d: _ProductSpec) -> bool:
    return d.category == "phones"


def _usb_c(d: _ProductSpec) -> bool:
    return d.attributes.get("connector") == "usb-c"


# brand, name, type, price, fits families, extra predicate on the device, description
_CHARGERS: list[tuple[str, str, str, float, tuple[str, ...], Callable[[_ProductSpec], bool] | None, str]] = [
    ("Anker", "Anker Nano 20W USB-C charger", "charger", 15.99, _ALL_PHONE_FAMILIES + ("ipad", "galaxy_tab"),
     None, "A tiny 20W USB-C PD wall charger that fast-charges phones and small tablets."),
    ("Anker", "Anker 65W USB-C charger (Nano II)", "charger", 39.99,
     _ALL_PHONE_FAMILIES + ("ipad", "galaxy_tab", "fire", "tab_p", "macbook", "thinkpad", "xps", "hp", "zenbook"),
     lambda d: d.family != "macbook" or d.attributes.get("model") != "MacBook Pro 14",
     "A compact GaN charger with enough power for a phone, a tablet or a 13-14\" laptop."),
    ("Anker", "Anker 737 Power Bank 24,000mAh 140W", "power_bank", 109.99,
     _ALL_PHONE_FAMILIES + ("ipad", "galaxy_tab", "fire", "tab_p", "macbook", "thinkpad", "xps", "hp", "zenbook"),
     lambda d: d.attributes.get("connector") in ("usb-c", None) or d.category == "laptops",
     "A 24,000mAh USB-C power bank with 140W output and a smart display."),
    ("Anker", "Anker 313 wireless charging pad 10W", "wireless_charger", 14.99, _ALL_PHONE_FAMILIES,
     lambda d: bool(d.attributes.get("wireless_charging")), "A Qi wireless pad for phones that charge wirelessly."),
    ("Anker", "Anker USB-C to USB-C cable 1.8m (240W)", "cable", 12.99,
     _ALL_PHONE_FAMILIES + ("ipad", "galaxy_tab", "fire", "tab_p", "macbook", "thinkpad", "xps", "hp", "zenbook"),
     lambda d: d.category == "laptops" or _usb_c(d), "A braided 240W USB-C cable for phones, tablets and laptops."),
    ("Anker", "Anker USB-C to Lightning cable 0.9m (MFi certified)", "cable", 14.99, ("iphone",),
     lambda d: d.attributes.get("connector") == "lightning", "An Apple MFi-certified cable for fast charging."),
    ("Belkin", "Belkin BoostCharge Pro 3-in-1 wireless charging pad with MagSafe", "wireless_charger", 129.99,
     ("iphone", "apple_watch"), None, "Charges an iPhone with MagSafe at 15W, an Apple Watch and AirPods at once."),
    ("Belkin", "Belkin BoostCharge Pro 2-in-1 wireless charger with MagSafe", "wireless_charger", 99.99,
     ("iphone",), None, "A MagSafe stand that charges an iPhone at 15W plus AirPods."),
    ("Belkin", "Belkin BoostCharge 30W USB-C PD GaN charger", "charger", 24.99,
     _ALL_PHONE_FAMILIES + ("ipad", "galaxy_tab", "fire", "tab_p"), None,
     "A 30W USB-C Power Delivery wall charger for phones and tablets."),
    ("Apple", "Apple 20W USB-C Power Adapter", "charger", 19.00, ("iphone", "ipad"), None,
     "Apple's 20W USB-C adapter for fast charging iPhone and iPad."),
    ("Apple", "Apple 35W Dual USB-C Port Compact Power Adapter", "charger", 59.00, ("iphone", "ipad", "macbook"),
     lambda d: d.family != "macbook" or "Air" in d.attributes.get("model", ""),
     "Charges two devices at once, powerful enough for a MacBook Air."),
    ("Apple", "Apple MagSafe Charger (1m)", "wireless_charger", 45.00, ("iphone",), None,
     "Snaps onto iPhone 13 and later and charges at up to 25W on iPhone 16."),
    ("Apple", "Apple USB-C to Lightning Cable (1m)", "cable", 19.00, ("iphone",),
     lambda d: d.attributes.get("connector") == "lightning", "Fast-charge a Lightning iPhone from a USB-C adapter."),
    ("Apple", "Apple 240W USB-C Charge Cable (2m)", "cable", 29.00, ("iphone", "ipad", "macbook"),
     lambda d: d.category != "phones" or _usb_c(d), "A woven 2m USB-C cable for iPhone 15 and later, iPad and Mac."),
    ("Apple", "Apple Watch Magnetic Fast Charger to USB-C Cable (1m)", "charger", 29.00, ("apple_watch",), None,
     "Fast charging for Apple Watch Series 7 and later."),
    ("Samsung", "Samsung 25W Super Fast Charging power adapter", "charger", 19.99, ("galaxy", "galaxy_tab"), None,
     "Samsung's 25W USB-C PD adapter for Super Fast Charging."),
    ("Samsung", "Samsung 45W Super Fast Charging 2.0 power adapter", "charger", 39.99, ("galaxy", "galaxy_tab"),
     None, "45W Super Fast Charging 2.0 for Galaxy phones and tablets that support it."),
    ("Samsung", "Samsung 15W Wireless Charger Duo", "wireless_charger", 59.99, ("galaxy", "galaxy_watch"),
     lambda d: d.category != "phones" or bool(d.attributes.get("wireless_charging")),
     "Charges a Galaxy phone and a Galaxy Watch or Buds side by side."),
    ("Samsung", "Samsung Galaxy Watch fast charging cable (USB-C)", "charger", 24.99, ("galaxy_watch",), None,
     "The magnetic fast charger for Galaxy Watch6 and Watch6 Classic."),
    ("Ugreen", "Ugreen Nexode 100W 4-port GaN charger", "charger", 59.99,
     _ALL_PHONE_FAMILIES + ("ipad", "galaxy_tab", "fire", "tab_p", "macbook", "thinkpad", "xps", "hp", "zenbook"),
     None, "Three USB-C ports and one USB-A: a laptop, a phone and a tablet from one plug."),
    ("Ugreen", "Ugreen Nexode 65W 3-port GaN charger", "charger", 35.99,
     _ALL_PHONE_FAMILIES + ("ipad", "galaxy_tab", "fire", "tab_p", "macbook", "thinkpad", "xps", "hp", "zenbook"),
     lambda d: d.attributes.get("model") != "MacBook Pro 14", "A 65W GaN charger with two USB-C and one USB-A port."),
    ("Ugreen", "Ugreen USB-C to USB-C braided cable 2m (100W)", "cable", 9.99,
     _ALL_PHONE_FAMILIES + ("ipad", "galaxy_tab", "fire", "tab_p", "macbook", "thinkpad", "xps", "hp", "zenbook"),
     lambda d: d.category == "laptops" or _usb_c(d), "A nylon-braided 100W USB-C cable with a 2m reach."),
]

_ALL_LAPTOP_FAMILIES = ("macbook", "thinkpad", "xps", "hp", "zenbook")

# brand, name, type, price, fits families, extra predicate, description
_LAPTOP_ACCESSORIES: list[tuple[str, str, str, float, tuple[str, ...], Callable[[_ProductSpec], bool] | None, str]] = [
    ("Logitech", "Logitech MX Master 3S wireless mouse Graphite", "mouse", 99.99, _ALL_LAPTOP_FAMILIES, None,
     "An 8K DPI mouse with quiet clicks and MagSpeed scrolling, over Bluetooth or the Bolt receiver."),
    ("Logitech", "Logitech MX Master 3S wireless mouse Pale Grey", "mouse", 99.99, _ALL_LAPTOP_FAMILIES, None,
     "An 8K DPI mouse with quiet clicks and MagSpeed scrolling, over Bluetooth or the Bolt receiver."),
    ("Logitech", "Logitech MX Keys S wireless keyboard", "keyboard", 109.99, _ALL_LAPTOP_FAMILIES, None,
     "A backlit low-profile keyboard that switches between three devices."),
    ("Logitech", "Logitech MX Keys Mini for Mac", "keyboard", 99.99, ("macbook",), None,
     "A compact backlit keyboard with a Mac layout."),
    ("Logitech", "Logitech Pebble Mouse 2 M350s", "mouse", 24.99, _ALL_LAPTOP_FAMILIES, None,
     "A slim, silent Bluetooth mouse for travel."),
    ("Dell", "Dell WD19S USB-C dock (130W)", "dock", 219.99, ("xps",), None,
     "One USB-C cable for power, two displays, Ethernet and USB for Dell laptops."),
    ("Dell", "Dell Pro Wireless Keyboard and Mouse KM5221W", "keyboard", 39.99, _ALL_LAPTOP_FAMILIES, None,
     "A full-size wireless keyboard and mouse set with one USB receiver."),
    ("Dell", "Dell Pro Slim Backpack 15", "bag", 49.99, _ALL_LAPTOP_FAMILIES,
     lambda d: d.attributes.get("screen_in", 99) <= 15.6, "A water-resistant backpack for laptops up to 15.6\"."),
    ("Dell", "Dell EcoLoop Pro sleeve 13-14", "sleeve", 29.99, _ALL_LAPTOP_FAMILIES,
     lambda d: d.attributes.get("screen_in", 99) <= 14.2, "A recycled-fabric sleeve for 13-14\" laptops."),
    ("Anker", "Anker 555 USB-C hub (8-in-1)", "hub", 49.99, _ALL_LAPTOP_FAMILIES, None,
     "4K HDMI, 100W pass-through charging, Ethernet, SD and USB ports."),
    ("Anker", "Anker 341 USB-C hub (7-in-1)", "hub", 29.99, _ALL_LAPTOP_FAMILIES, None,
     "4K HDMI, 100W pass-through charging, SD and USB ports."),
    ("Anker", "Anker 563 USB-C docking station (10-in-1)", "dock", 89.99, _ALL_LAPTOP_FAMILIES, None,
     "Dual-monitor dock with 100W charging for USB-C laptops."),
    ("Targus", "Targus CityLite laptop backpack 15.6\"", "bag", 59.99, _ALL_LAPTOP_FAMILIES,
     lambda d: d.attributes.get("screen_in", 99) <= 15.6, "A padded commuter backpack for laptops up to 15.6\"."),
    ("Targus", "Targus MultiFit sleeve 13-14\"", "sleeve", 24.99, _ALL_LAPTOP_FAMILIES,
     lambda d: d.attributes.get("screen_in", 99) <= 14.2, "A slim sleeve with EcoSmart fabric for 13-14\" laptops."),
    ("Targus", "Targus Universal USB-C DV4K dock with 100W power", "dock", 229.99, _ALL_LAPTOP_FAMILIES, None,
     "Two 4K displays and 100W charging over one USB-C cable."),
    ("Apple", "Apple Magic Mouse (USB-C) White", "mouse", 79.00, ("macbook",), None,
     "Apple's Multi-Touch mouse, charged over USB-C."),
    ("Apple", "Apple Magic Keyboard with Touch ID (USB-C)", "keyboard", 149.00, ("macbook",), None,
     "A wireless keyboard with Touch ID for Macs with Apple silicon."),
    ("Apple", "Apple USB-C Digital AV Multiport Adapter", "hub", 69.00, ("macbook",), None,
     "HDMI 4K60, USB-A and USB-C charging from one port."),
]

# name, data allowance, data GB (None = unlimited), network, months, price, EU roaming, for watches
_MOBILE_PLANS: list[tuple[str, str, int | None, str, int, float, bool, bool]] = [
    ("Tandem Mobile Essentials 2GB 4G", "2GB", 2, "4G", 1, 6.00, False, False),
    ("Tandem Mobile 5GB 5G", "5GB", 5, "5G", 12, 8.00, False, False),
    ("Tandem Mobile 30GB 5G", "30GB", 30, "5G", 12, 12.00, True, False),
    ("Tandem Mobile 100GB 5G", "100GB", 100, "5G", 24, 16.00, True, False),
    ("Tandem Mobile Unlimited 5G", "Unlimited", None, "5G", 24, 22.00, True, False),
    ("Tandem Mobile Unlimited Max 5G", "Unlimited", None, "5G", 24, 28.00, True, False),
    ("Tandem Mobile Family Unlimited 5G (4 SIMs)", "Unlimited", None, "5G", 24, 60.00, True, False),
    ("Tandem Mobile Watch Connect eSIM", "Shares your phone plan", None, "4G", 1, 5.00, True, True),
]

# name, download Mbps, upload Mbps, technology, months, price, router
_HOME_INTERNET: list[tuple[str, int, int, str, int, float, str]] = [
    ("Tandem Fibre Social 50", 50, 10, "FTTP", 1, 15.00, "Tandem Hub 3 (Wi-Fi 6)"),
    ("Tandem Fibre Essentials 74", 74, 18, "FTTC", 18, 24.00, "Tandem Hub 3 (Wi-Fi 6)"),
    ("Tandem Fibre 150", 150, 30, "FTTP", 18, 27.00, "Tandem Hub 3 (Wi-Fi 6)"),
    ("Tandem Fibre 300", 300, 50, "FTTP", 24, 30.00, "Tandem Hub 3 (Wi-Fi 6)"),
    ("Tandem Fibre 500", 500, 75, "FTTP", 24, 35.00, "Tandem Hub 4 (Wi-Fi 6E)"),
    ("Tandem Fibre 900", 900, 110, "FTTP", 24, 45.00, "Tandem Hub 4 (Wi-Fi 6E)"),
    ("Tandem Fibre 1 Gig", 1000, 220, "FTTP", 24, 55.00, "Tandem Hub 5 (Wi-Fi 7)"),
    ("Tandem Fibre 2 Gig", 2000, 2000, "FTTP", 24, 70.00, "Tandem Hub 5 (Wi-Fi 7)"),
]

_SKU_PREFIX = {
    "phones": "PHN",
    "laptops": "LAP",
    "tablets": "TAB",
    "smartwatches": "WCH",
    "headphones": "AUD",
    "phone_accessories": "PAC",
    "chargers_cables": "CHG",
    "laptop_accessories": "LAC",
    "mobile_plans": "MOB",
    "home_internet": "NET",
}


@dataclass
class _Catalog:
    products: list[_ProductSpec]
    links: list[tuple[str, str]]  # (accessory/plan/watch sku, device sku), sorted

    def by_sku(self) -> dict[str, _ProductSpec]:
        return {p.sku: p for p in self.products}


def build_catalog() -> _Catalog:
    """The shop's fixed catalog and its compatibility links (pure data, no randomness)."""
    products: list[_ProductSpec] = []
    counters = {slug: 0 for slug in CATEGORY_NAMES}

    def add(category: str, brand: str, name: str, price: float | int, description: str, attributes: dict,
            family: str | None = None, active: bool = True) -> _ProductSpec:
        counters[category] += 1
        spec = _ProductSpec(
            sku=f"{_SKU_PREFIX[category]}-{counters[category]:04d}",
            name=name,
            category=category,
            brand=brand,
            price=_money(price),
            description=description,
            attributes=attributes,
            family=family,
            active=active,
        )
        products.append(spec)
        return spec

    def label(brand: str, model: str) -> str:
        return model if model.startswith(brand) else f"{brand} {model}"

    for family, brand, model, screen, connector, wireless, year, on_sale, storages, colours, pitch in _PHONES:
        for storage, price in storages.items():
            for colour in colours:
                add("phones", brand, f"{label(brand, model)} {storage} {colour}", price,
                    f"{label(brand, model)} with a {screen}\" display, {storage} of storage, 5G and {pitch}.",
                    {"model": model, "storage": storage, "colour": colour, "screen_in": screen,
                     "connector": connector, "wireless_charging": wireless, "magsafe": family == "iphone",
                     "network": "5G", "release_year": year},
                    family=family, active=on_sale)

    for family, brand, model, screen, chip, specs, colours, pitch in _LAPTOPS:
        for spec, price in specs.items():
            ram, ssd = spec.split("/")
            for colour in colours:
                add("laptops", brand, f"{brand} {model} {chip} {ram} RAM {ssd} SSD {colour}", price,
                    f"{brand} {model} with {chip}, {ram} of memory, a {ssd} SSD and {pitch}.",
                    {"model": model, "processor": chip, "ram": ram, "storage": ssd, "colour": colour,
                     "screen_in": screen, "connector": "usb-c"},
                    family=family)

    for family, brand, model, screen, storages, colours, pitch in _TABLETS:
        for storage, price in storages.items():
            for colour in colours:
                add("tablets", brand, f"{brand} {model} {storage} Wi-Fi {colour}", price,
                    f"{brand} {model} with a {screen}\" display, {storage} of storage and {pitch}.",
                    {"model": model, "storage": storage, "colour": colour, "screen_in": screen,
                     "connectivity": "Wi-Fi", "connector": "usb-c"},
                    family=family)

    for family, brand, model, sizes, colours, pitch in _WATCHES:
        for size, cellular, price in sizes:
            conn = "GPS + Cellular" if cellular else "GPS"
            for colour in colours:
                add("smartwatches", brand, f"{brand} {model} {size}mm {conn} {colour}", price,
                    f"{brand} {model} ({size}mm, {conn}) with {pitch}.",
                    {"model": model, "case_size_mm": size, "cellular": cellular, "colour": colour},
                    family=family)

    for brand, title, kind, anc, hours, price, colours in _HEADPHONES:
        for colour in colours:
            add("headphones", brand, f"{brand} {title} {colour}" if len(colours) > 1 else f"{brand} {title}",
                price,
                f"{brand} {title}: {kind} wireless audio"
                f"{' with active noise cancellation' if anc else ''} and up to {hours} hours of listening.",
                {"type": kind, "noise_cancelling": anc, "battery_hours": hours, "colour": colour,
                 "connection": "Bluetooth"})

    phones = [p for p in products if p.category == "phones"]
    phone_models: list[tuple[str, str]] = []  # (family, model) in catalog order
    for p in phones:
        key = (p.family or "", p.attributes["model"])
        if key not in phone_models:
            phone_models.append(key)

    links: set[tuple[str, str]] = set()
    for brand, template, kind, price, families, keep, colour, material in _PHONE_ACCESSORIES:
        for family, model in phone_models:
            if family not in families or (keep is not None and not keep(model)):
                continue
            what = "case" if kind == "case" else "screen protector"
            acc = add("phone_accessories", brand, template.format(model=model), price,
                      f"A {material} {what} made for the {model}.",
                      {"type": kind, "fits_model": model, "fits_family": family, "colour": colour,
                       "material": material, "magsafe": "MagSafe" in template})
            for phone in phones:
                if phone.family == family and phone.attributes["model"] == model:
                    links.add((acc.sku, phone.sku))

    devices = [p for p in products if p.category in DEVICE_CATEGORIES]
    for category, table in (("chargers_cables", _CHARGERS), ("laptop_accessories", _LAPTOP_ACCESSORIES)):
        for brand, name, kind, price, families, keep, description in table:
            acc = add(category, brand, name, price, description,
                      {"type": kind, "fits_families": list(families)})
            for device in devices:
                if device.family in families and (keep is None or keep(device)):
                    links.add((acc.sku, device.sku))

    for name, allowance, gb, network, months, price, roaming, watch in _MOBILE_PLANS:
        plan = add("mobile_plans", "Tandem Mobile", name, price,
                   f"{name}: {allowance} of data, unlimited UK minutes and texts, {months}-month contract"
                   f"{', EU roaming included' if roaming else ''}.",
                   {"data_allowance": allowance, "data_gb": gb, "network": network, "contract_months": months,
                    "minutes": "Unlimited", "texts": "Unlimited", "eu_roaming": roaming,
                    "for": "smartwatch" if watch else "phone"})
        for device in devices:
            if (watch and device.category == "smartwatches" and device.attributes.get("cellular")) or (
                not watch and device.category == "phones"
            ):
                links.add((plan.sku, device.sku))

    for name, down, up, tech, months, price, router in _HOME_INTERNET:
        add("home_internet", "Tandem Fibre", name, price,
            f"{name}: average {down} Mbps download and {up} Mbps upload over {tech}, {router} included, "
            f"{months}-month contract.",
            {"download_mbps": down, "upload_mbps": up, "technology": tech, "contract_months": months,
             "router": router, "speed": f"{down} Mbps"})

    # Smartwatches pair with the phones of their ecosystem.
    watch_pairs = {
        "apple_watch": ("iphone",),
        "galaxy_watch": _ANDROID_FAMILIES,
        "pixel_watch": _ANDROID_FAMILIES,
        "garmin": _ALL_PHONE_FAMILIES,
    }
    for watch in (p for p in products if p.category == "smartwatches"):
        for phone in phones:
            if phone.family in watch_pairs[watch.family or ""]:
                links.add((watch.sku, phone.sku))

    return _Catalog(products=products, links=sorted(links))


# --------------------------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------------------------

_FIRST_NAMES = (
    "Oliver George Harry Noah Jack Leo Arthur Muhammad Oscar Charlie Jacob Thomas Henry William Freddie Alfie "
    "Theo Archie Joshua Isaac James Lucas Ethan Samuel Daniel Adam Mohammed Ryan Aaron Liam Connor Callum Owen "
    "Rhys Dylan Ravi Arjun Rohan Kwame Tomasz Marek Luca Mateo Hamza Yusuf Olivia Amelia Isla Ava Mia Ivy Lily "
    "Isabella Rosie Sophia Grace Freya Florence Willow Evie Poppy Emily Ella Ruby Chloe Sophie Jessica Hannah "
    "Lucy Megan Charlotte Eleanor Alice Zara Aisha Fatima Maryam Priya Anjali Niamh Siobhan Aoife Eilidh Ffion "
    "Carys Seren Agnieszka Zofia Chiara Sofia Amara Chidi Nia Mei Hana Yuki Sarah Rachel Laura Emma Claire "
    "Helen Joanne Karen Mark Paul David Andrew Richard Stephen Simon Peter Gareth Martin Neil"
).split()

_LAST_NAMES = (
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson Wright "
    "Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin Cooper Hill "
    "Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker Price "
    "Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox "
    "Richards Khan Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb "
    "Rogers Gray Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler "
    "Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur "
    "Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks West Lawrence "
    "Cole Atkinson Nowak Kowalski Rossi Okafor Mensah Chen Wong Nguyen Kim Sharma Gupta Das O'Brien O'Connor "
    "MacDonald McLean Fraser"
).split()

_TOWNS = (
    ("London", "SW"), ("London", "N"), ("London", "E"), ("Manchester", "M"), ("Birmingham", "B"),
    ("Leeds", "LS"), ("Glasgow", "G"), ("Edinburgh", "EH"), ("Bristol", "BS"), ("Cardiff", "CF"),
    ("Liverpool", "L"), ("Sheffield", "S"), ("Newcastle upon Tyne", "NE"), ("Nottingham", "NG"),
    ("Leicester", "LE"), ("Brighton", "BN"), ("Southampton", "SO"), ("Oxford", "OX"), ("Cambridge", "CB"),
    ("Belfast", "BT"), ("York", "YO"), ("Norwich", "NR"), ("Exeter", "EX"), ("Aberdeen", "AB"),
    ("Reading", "RG"), ("Bath", "BA"), ("Swansea", "SA"), ("Coventry", "CV"), ("Derby", "DE"), ("Plymouth", "PL"),
)

_STREETS = (
    "High Street", "Station Road", "Church Lane", "Victoria Road", "Green Lane", "Manor Road", "Park Avenue",
    "Kings Road", "Queen Street", "Mill Lane", "The Crescent", "Albert Road", "Elm Grove", "York Road",
    "Springfield Road", "Windsor Close", "Chestnut Avenue", "Orchard Way", "Riverside Drive", "Cedar Close",
    "Grange Road", "Highfield Road", "New Street", "School Lane", "St John's Road", "Meadow View", "North Road",
    "London Road", "Beech Grove", "Willow Way",
)

_POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")

# (carrier, weight)
_CARRIERS = (("DPD", 35), ("Royal Mail", 25), ("Evri", 20), ("DHL", 10), ("UPS", 10))


def _weighted(rng: random.Random, options: Sequence[tuple[Any, float]]) -> Any:
    total = sum(w for _, w in options)
    x = rng.random() * total
    for value, weight in options:
        x -= weight
        if x < 0:
            return value
    return options[-1][0]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _chars(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _tracking_number(rng: random.Random, carrier: str) -> str:
    upper = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    if carrier == "Royal Mail":
        return f"{_chars(rng, upper, 2)}{_digits(rng, 9)}GB"
    if carrier == "DPD":
        return _digits(rng, 14)
    if carrier == "Evri":
        return f"H{_digits(rng, 2)}{_chars(rng, upper, 1)}{_digits(rng, 12)}"
    if carrier == "DHL":
        return _digits(rng, 10)
    return f"1Z{_chars(rng, upper + '0123456789', 6)}{_digits(rng, 10)}"  # UPS


def _serial_number(rng: random.Random, brand: str) -> str:
    if brand == "Apple":
        return _chars(rng, "0123456789CDFGHJKLMNPQRTVWXY", 10)
    if brand == "Samsung":
        return "R" + _chars(rng, "0123456789ABCDEFGHJKLMNPRSTVWXYZ", 10)
    if brand == "Google":
        return _digits(rng, 14)
    prefix = {"OnePlus": "OP", "Motorola": "ZY", "Lenovo": "PF", "Dell": "DL", "HP": "5CG", "Asus": "N1",
              "Amazon": "G0", "Garmin": "GR"}.get(brand, brand[:2].upper())
    return prefix + _chars(rng, "0123456789ABCDEFGHJKLMNPRSTUVWXYZ", 10)


def _ascii_slug(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


# --------------------------------------------------------------------------------------------------------------
# Order life cycle
# --------------------------------------------------------------------------------------------------------------


@dataclass
class _Timeline:
    """Everything that happens (or will happen) to an order; `status_at(now)` reads it at the shop's clock."""

    placed_at: datetime
    processing_at: datetime
    shipped_at: datetime
    out_for_delivery_at: datetime
    delivered_at: datetime
    estimated_delivery: date
    cancel_at: datetime | None
    return_at: datetime | None

    def state(self, now: datetime) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "placed_at": self.placed_at,
            "estimated_delivery": self.estimated_delivery,
            "shipped_at": None,
            "delivered_at": None,
            "cancelled_at": None,
        }
        if self.cancel_at is not None and self.cancel_at <= now:
            fields.update(status="cancelled", cancelled_at=self.cancel_at)
        elif self.shipped_at > now:
            fields["status"] = "processing" if self.processing_at <= now else "placed"
        else:
            fields["shipped_at"] = self.shipped_at
            if self.delivered_at <= now:
                fields["delivered_at"] = self.delivered_at
                returned = self.return_at is not None and self.return_at <= now
                fields["status"] = "returned" if returned else "delivered"
            elif self.out_for_delivery_at <= now:
                fields["status"] = "out_for_delivery"
            else:
                fields["status"] = "shipped"
        return fields


def _at_second(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def _timeline(rng: random.Random, placed_at: datetime) -> _Timeline:
    """A realistic life cycle: picked within hours, dispatched in 0.5-2 days, delivered 1-3 days later.

    The estimated date is what the shop promised from the planned timings; a few orders then hit a stock
    problem or a carrier delay, which is what makes them late.
    """
    processing_at = placed_at + timedelta(hours=rng.uniform(0.5, 6))
    dispatch = timedelta(hours=rng.uniform(10, 40))
    transit = timedelta(hours=rng.uniform(16, 60))
    planned_arrival = placed_at + dispatch + transit
    estimated = planned_arrival.date() + timedelta(days=rng.choice((0, 1, 1, 2)))
    if rng.random() < 0.05:  # stock problem at the warehouse
        dispatch += timedelta(days=rng.uniform(2, 7))
    if rng.random() < 0.09:  # carrier delay
        transit += timedelta(days=rng.uniform(1.5, 5))
    shipped_at = placed_at + dispatch
    arrival = shipped_at + transit
    delivery_day = arrival.date() + timedelta(days=1 if arrival.hour >= 19 else 0)
    delivered_at = datetime.combine(delivery_day, time(9)) + timedelta(minutes=rng.uniform(0, 11 * 60))
    if delivered_at < shipped_at + timedelta(hours=8):
        delivered_at += timedelta(days=1)
    out_for_delivery_at = datetime.combine(delivered_at.date(), time(7)) + timedelta(minutes=rng.uniform(0, 90))
    if out_for_delivery_at <= shipped_at:
        out_for_delivery_at = shipped_at + timedelta(hours=1)
    cancel_at = None
    if rng.random() < 0.05:  # customer cancels before dispatch
        cancel_at = placed_at + dispatch * rng.uniform(0.05, 0.9)
    return_at = None
    if rng.random() < 0.06:  # sent back within the 30-day window
        return_at = delivered_at + timedelta(days=rng.uniform(1, 28))
    return _Timeline(
        placed_at=_at_second(placed_at),
        processing_at=_at_second(processing_at),
        shipped_at=_at_second(shipped_at),
        out_for_delivery_at=_at_second(out_for_delivery_at),
        delivered_at=_at_second(delivered_at),
        estimated_delivery=estimated,
        cancel_at=_at_second(cancel_at) if cancel_at else None,
        return_at=_at_second(return_at) if return_at else None,
    )


# Scenarios guaranteed among recent orders, so every status (and a late order) exists even in a small shop.
_SCENARIOS: tuple[str, ...] = (
    "placed", "processing", "shipped", "out_for_delivery", "late", "delivered", "cancelled", "late"
)
_OPEN = ("placed", "processing", "shipped", "out_for_delivery")


def _matches(scenario: str, fields: dict[str, Any], now: datetime) -> bool:
    status = fields["status"]
    late = status in _OPEN and fields["estimated_delivery"] < now.date()
    if scenario == "late":
        return late
    if scenario == "delivered":
        return status == "delivered" and fields["delivered_at"] >= now - timedelta(days=RECENT_DAYS)
    return status == scenario and not late


def _scenario_timeline(rng: random.Random, scenario: str, now: datetime, earliest: datetime) -> _Timeline:
    """Draw recent orders until one is in the wanted state (rejection sampling keeps timestamps consistent)."""
    start = max(earliest, now - timedelta(days=RECENT_DAYS))
    span = (now - start).total_seconds()
    for _ in range(50_000):
        # Bias towards the last hours for "placed", which only lasts a few hours.
        if scenario == "placed":
            placed_at = now - timedelta(hours=rng.uniform(0.1, 8))
        else:
            placed_at = start + timedelta(seconds=rng.uniform(0, span))
        tl = _timeline(rng, placed_at)
        if _matches(scenario, tl.state(now), now):
            return tl
    raise RuntimeError(f"could not generate a {scenario!r} order")  # pragma: no cover


# --------------------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------------------


@dataclass
class _Generated:
    customers: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)  # with "_customer", "_lines", "_devices"
    devices: list[dict[str, Any]] = field(default_factory=list)  # pre-owned devices (no order)
    plans: list[dict[str, Any]] = field(default_factory=list)


class _Shop:
    """Product pools used while generating histories."""

    def __init__(self, catalog: _Catalog) -> None:
        self.products = catalog.products
        self.by_sku = catalog.by_sku()
        self.family: dict[str, list[_ProductSpec]] = {}
        self.category: dict[str, list[_ProductSpec]] = {}
        for p in self.products:
            self.category.setdefault(p.category, []).append(p)
            if p.family:
                self.family.setdefault(p.family, []).append(p)
        # device sku -> accessories/plans that fit it, in catalog order
        self.fits: dict[str, list[_ProductSpec]] = {}
        for acc_sku, device_sku in catalog.links:
            acc = self.by_sku[acc_sku]
            if acc.category in ("phone_accessories", "chargers_cables", "laptop_accessories"):
                self.fits.setdefault(device_sku, []).append(acc)
        for items in self.fits.values():
            items.sort(key=lambda p: p.sku)

    def pick_device(self, rng: random.Random, family: str, only_active: bool) -> _ProductSpec:
        pool = [p for p in self.family[family] if p.active or not only_active] or self.family[family]
        return rng.choice(pool)

    def accessories(self, device: _ProductSpec, category: str, kind: str | None = None) -> list[_ProductSpec]:
        return [
            a for a in self.fits.get(device.sku, [])
            if a.category == category and (kind is None or a.attributes.get("type") == kind)
        ]


_PHONE_FAMILY_WEIGHTS = (("iphone", 40), ("galaxy", 27), ("pixel", 14), ("oneplus", 8), ("moto", 11))
_WATCH_BY_PHONE = {
    "iphone": (("apple_watch", 70), ("garmin", 30)),
    "galaxy": (("galaxy_watch", 70), ("garmin", 30)),
    "pixel": (("pixel_watch", 60), ("galaxy_watch", 10), ("garmin", 30)),
}
_WATCH_OTHER = (("galaxy_watch", 40), ("pixel_watch", 20), ("garmin", 40))
_TABLET_BY_PHONE = {
    "iphone": (("ipad", 70), ("fire", 20), ("galaxy_tab", 10)),
    "galaxy": (("galaxy_tab", 60), ("fire", 25), ("tab_p", 15)),
}
_TABLET_OTHER = (("fire", 35), ("galaxy_tab", 30), ("tab_p", 25), ("ipad", 10))
_LAPTOP_BY_PHONE = {"iphone": (("macbook", 55), ("xps", 15), ("thinkpad", 10), ("hp", 10), ("zenbook", 10))}
_LAPTOP_OTHER = (("macbook", 15), ("xps", 20), ("thinkpad", 25), ("hp", 25), ("zenbook", 15))
_ORDER_COUNT_WEIGHTS = ((0, 10), (1, 20), (2, 20), (3, 16), (4, 12), (5, 9), (6, 6), (7, 4), (8, 3))


def _line(rng: random.Random, product: _ProductSpec, placed_at: datetime, now: datetime) -> dict[str, Any]:
    quantity = 1
    if product.category not in DEVICE_CATEGORIES and rng.random() < 0.1:
        quantity = 2
    unit_price = product.price
    if placed_at < now - timedelta(days=30) and product.price >= 10 and rng.random() < 0.12:
        unit_price = (product.price * Decimal("0.85")).quantize(Decimal("1")) - Decimal("0.01")  # a sale
    return {"_sku": product.sku, "quantity": quantity, "unit_price": unit_price}


def _order_items(
    rng: random.Random,
    shop: _Shop,
    wanted: list[str],
    owned: list[_ProductSpec],
    only_active: bool,
) -> list[_ProductSpec]:
    """What one order contains: a device with add-ons, headphones, or accessories for owned devices."""
    items: list[_ProductSpec] = []

    def add(product: _ProductSpec | None) -> None:
        if product is not None and product not in items and (product.active or not only_active) and len(items) < 4:
            items.append(product)

    def maybe(options: list[_ProductSpec], p: float) -> None:
        if options and rng.random() < p:
            add(rng.choice(options))

    r = rng.random()
    if wanted and (r < 0.6 or not owned):
        family = wanted.pop(0)
        device = shop.pick_device(rng, family, only_active)
        add(device)
        if device.category == "phones":
            maybe(shop.accessories(device, "phone_accessories", "case"), 0.6)
            maybe(shop.accessories(device, "phone_accessories", "screen_protector"), 0.45)
            maybe(shop.accessories(device, "chargers_cables", "charger"), 0.3)
        elif device.category == "laptops":
            maybe(shop.accessories(device, "laptop_accessories", "mouse"), 0.45)
            maybe(shop.accessories(device, "laptop_accessories", "sleeve")
                  + shop.accessories(device, "laptop_accessories", "bag"), 0.35)
            maybe(shop.accessories(device, "laptop_accessories", "hub"), 0.3)
        else:
            maybe(shop.accessories(device, "chargers_cables"), 0.2)
    elif r < 0.78 or not owned:
        add(rng.choice(shop.category["headphones"]))
        maybe(shop.category["chargers_cables"], 0.15)
    else:
        for _ in range(rng.randint(1, 3)):
            device = rng.choice(owned)
            category = {"phones": "phone_accessories", "laptops": "laptop_accessories"}.get(
                device.category, "chargers_cables"
            )
            if rng.random() < 0.35:
                category = "chargers_cables"
            maybe(shop.accessories(device, category), 1.0)
        if not items:
            add(rng.choice(shop.category["chargers_cables"]))
    if not items:  # everything drawn was off sale
        add(rng.choice([p for p in shop.category["headphones"] if p.active]))
    return items


def _generate(rng: random.Random, shop: _Shop, customers: int, anchor: date, progress: bool) -> _Generated:
    now = seed_now(anchor)
    window_start = now - timedelta(days=HISTORY_DAYS)
    out = _Generated()
    emails: set[str] = set()
    serials: set[str] = set()

    n_scenario = min(customers, max(len(_SCENARIOS), round(customers * 0.03)))
    scenario_of: dict[int, str] = {}
    picked = sorted(rng.sample(range(customers), n_scenario))
    for k, index in enumerate(picked):
        scenario_of[index] = _SCENARIOS[k % len(_SCENARIOS)]

    def serial(brand: str) -> str:
        while True:
            value = _serial_number(rng, brand)
            if value not in serials:
                serials.add(value)
                return value

    bar = tqdm(total=customers, unit="customer", desc="generating", disable=not progress, leave=False)
    for index in range(customers):
        external_id = f"CUST-{index + 1:05d}"
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        base = f"{_ascii_slug(first)}.{_ascii_slug(last)}"
        domain = rng.choice(_EMAIL_DOMAINS)
        email = f"{base}@{domain}"
        while email in emails:
            email = f"{base}{rng.randint(1, 999)}@{domain}"
        emails.add(email)
        created_at = _at_second(now - timedelta(days=rng.uniform(20, 1100), seconds=rng.uniform(0, 86400)))
        town, prefix = rng.choice(_TOWNS)
        street = f"{rng.randint(1, 180)} {rng.choice(_STREETS)}"
        if rng.random() < 0.15:
            street = f"Flat {rng.randint(1, 40)}, {street}"
        postcode = (f"{prefix}{rng.randint(1, 20)} {rng.randint(1, 9)}"
                    f"{rng.choice(_POSTCODE_LETTERS)}{rng.choice(_POSTCODE_LETTERS)}")
        address = f"{first} {last}, {street}, {town} {postcode}, United Kingdom"
        phone = f"+44 7700 900{rng.randrange(1000):03d}" if rng.random() < 0.8 else None
        out.customers.append({
            "external_id": external_id, "name": f"{first} {last}", "email": email, "phone": phone,
            "created_at": created_at,
        })

        # Profile: which devices this customer has or wants, in the order they buy them.
        phone_family = _weighted(rng, _PHONE_FAMILY_WEIGHTS)
        wanted = [phone_family]
        if rng.random() < 0.35:
            wanted.append(_weighted(rng, _LAPTOP_BY_PHONE.get(phone_family, _LAPTOP_OTHER)))
        if rng.random() < 0.25:
            wanted.append(_weighted(rng, _TABLET_BY_PHONE.get(phone_family, _TABLET_OTHER)))
        if rng.random() < 0.3:
            wanted.append(_weighted(rng, _WATCH_BY_PHONE.get(phone_family, _WATCH_OTHER)))
        owned: list[_ProductSpec] = []
        if rng.random() < 0.55:  # bought their phone before the history starts (or elsewhere)
            family = wanted.pop(0)
            device = shop.pick_device(rng, family, only_active=False)
            acquired = _at_second(window_start - timedelta(days=rng.uniform(0, 900)))
            owned.append(device)
            out.devices.append({
                "_customer": external_id, "_sku": device.sku, "acquired_at": acquired,
                "serial_number": serial(device.brand), "_order": None,
            })

        earliest = max(window_start, created_at + timedelta(hours=1))
        span = (now - timedelta(minutes=10) - earliest).total_seconds()
        count = _weighted(rng, _ORDER_COUNT_WEIGHTS)
        timelines = [_timeline(rng, earliest + timedelta(seconds=rng.uniform(0, span))) for _ in range(count)]
        if index in scenario_of:
            timelines.append(_scenario_timeline(rng, scenario_of[index], now, earliest))
        timelines.sort(key=lambda t: t.placed_at)

        for tl in timelines:
            fields = tl.state(now)
            only_active = tl.placed_at >= now - timedelta(days=180)
            items = _order_items(rng, shop, wanted, owned, only_active)
            lines = [_line(rng, p, tl.placed_at, now) for p in items]
            order = {
                "_customer": external_id,
                "_lines": lines,
                "_devices": [],
                "total": sum((ln["unit_price"] * ln["quantity"] for ln in lines), Decimal("0.00")),
                "shipping_address": address,
                "carrier": None,
                "tracking_number": None,
                **fields,
            }
            if fields["shipped_at"] is not None:
                carrier = _weighted(rng, _CARRIERS)
                order["carrier"] = carrier
                order["tracking_number"] = _tracking_number(rng, carrier)
            if fields["status"] == "delivered":
                for product in items:
                    if product.category in DEVICE_CATEGORIES:
                        owned.append(product)
                        order["_devices"].append({
                            "_customer": external_id, "_sku": product.sku, "acquired_at": fields["delivered_at"],
                            "serial_number": serial(product.brand),
                        })
            out.orders.append(order)

        # Subscriptions.
        for category, chance in (("mobile_plans", 0.62), ("home_internet", 0.38)):
            if rng.random() >= chance:
                continue
            pool = [p for p in shop.category[category] if p.attributes.get("for") != "smartwatch"]
            plan = rng.choice(pool)
            started = _at_second(created_at + (now - timedelta(days=1) - created_at) * rng.uniform(0, 1))
            status = "active" if rng.random() < 0.88 else "cancelled"
            out.plans.append(_plan_row(rng, external_id, plan, started, status, now))
            if status == "cancelled" and rng.random() < 0.5:
                newer = rng.choice([p for p in pool if p.active])
                later = _at_second(started + (now - started) * rng.uniform(0.2, 0.95))
                out.plans.append(_plan_row(rng, external_id, newer, later, "active", now))
        watches = [d for d in owned if d.category == "smartwatches" and d.attributes.get("cellular")]
        if watches and rng.random() < 0.5:
            watch_plan = next(p for p in shop.category["mobile_plans"] if p.attributes.get("for") == "smartwatch")
            started = _at_second(max(created_at + timedelta(hours=1), now - timedelta(days=rng.uniform(1, 60))))
            out.plans.append(_plan_row(rng, external_id, watch_plan, started, "active", now))
        bar.update(1)
    bar.close()
    return out


def _plan_row(
    rng: random.Random, external_id: str, plan: _ProductSpec, started: datetime, status: str, now: datetime
) -> dict[str, Any]:
    price = plan.price
    if started < now - timedelta(days=365) and price > 10 and rng.random() < 0.2:
        price -= Decimal("2.00")  # an older promotional price
    return {"_customer": external_id, "_sku": plan.sku, "started_at": started, "status": status,
            "monthly_price": price}


def _assign_order_numbers(rng: random.Random, orders: list[dict[str, Any]]) -> None:
    """`TD` + 6 digits, increasing with time like a real order sequence (ties broken deterministically)."""
    orders.sort(key=lambda o: (o["placed_at"], o["_customer"]))
    if len(orders) > 899_999:
        raise ValueError("too many orders for 6-digit order numbers")
    number = 100_000 + rng.randint(0, 4_000)
    max_step = max(1, min(7, (999_999 - number) // max(1, len(orders))))
    for order in orders:
        order["order_number"] = f"TD{number:06d}"
        number += rng.randint(1, max_step)


# --------------------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------------------

_SHOP_TABLES = ("customer_devices", "customer_plans", "order_lines", "orders", "customers",
                "product_compatibility", "products")


def _chunks(rows: list[dict[str, Any]], size: int = _CHUNK) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def clear_shop(session: Session) -> None:
    """Delete all shop rows (children first). PostgreSQL also restarts the id sequences.

    Rows of other tables that reference customers or products (behaviour, segments, ...) go with them: on
    PostgreSQL through TRUNCATE ... CASCADE, on SQLite through their ON DELETE CASCADE foreign keys.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"TRUNCATE {', '.join(_SHOP_TABLES)} RESTART IDENTITY CASCADE"))
        return
    for model in (CustomerDevice, CustomerPlan, OrderLine, Order, Customer, ProductCompatibility, Product):
        session.execute(delete(model.__table__))


def _existing_counts(session: Session) -> tuple[int, int]:
    products = session.execute(select(func.count()).select_from(Product)).scalar_one()
    customers = session.execute(select(func.count()).select_from(Customer)).scalar_one()
    return products, customers


def seed_shop(
    session: Session,
    *,
    seed: int = 7,
    customers: int = 1000,
    anchor: date | None = None,
    progress: bool = False,
    replace: bool = False,
) -> SeedSummary:
    """Fill an empty shop database with a reproducible demo shop; returns counts of what was written.

    Same `(seed, customers, anchor)` => identical rows. `anchor` (default: today, UTC) is the shop's "today":
    order history covers the 18 months before it and in-flight orders have delivery dates around it.
    Raises `ShopAlreadySeeded` if products or customers exist, unless `replace=True`, which first deletes
    every shop row. Runs in the caller's transaction (commit it, e.g. with `session_scope`).
    """
    started = _time.perf_counter()
    if not 0 <= customers <= MAX_CUSTOMERS:
        raise ValueError(f"customers must be between 0 and {MAX_CUSTOMERS}, not {customers}")
    anchor = anchor or utcnow().date()

    n_products, n_customers = _existing_counts(session)
    if n_products or n_customers:
        if not replace:
            raise ShopAlreadySeeded(
                f"the database already has shop data ({n_products} products, {n_customers} customers); "
                "seed with replace=True (tandem seed --replace) to delete it and seed again"
            )
        clear_shop(session)
        session.flush()

    rng = random.Random(seed)
    catalog = build_catalog()
    shop = _Shop(catalog)
    generated = _generate(rng, shop, customers, anchor, progress)
    _assign_order_numbers(rng, generated.orders)

    lines = sum(len(o["_lines"]) for o in generated.orders)
    devices = len(generated.devices) + sum(len(o["_devices"]) for o in generated.orders)
    total_rows = (len(catalog.products) + len(catalog.links) + len(generated.customers) + len(generated.orders)
                  + lines + devices + len(generated.plans))
    bar = tqdm(total=total_rows, unit="row", desc="writing", disable=not progress, leave=False)

    def write(model: Any, rows: list[dict[str, Any]]) -> None:
        for chunk in _chunks(rows):
            session.execute(insert(model.__table__), chunk)
            bar.update(len(chunk))

    write(Product, [p.row() for p in catalog.products])
    product_id = dict(session.execute(select(Product.sku, Product.id)).all())
    write(ProductCompatibility, [
        {"product_id": product_id[a], "compatible_product_id": product_id[d]} for a, d in catalog.links
    ])

    write(Customer, generated.customers)
    customer_id = dict(session.execute(select(Customer.external_id, Customer.id)).all())

    write(Order, [
        {k: v for k, v in o.items() if not k.startswith("_")} | {"customer_id": customer_id[o["_customer"]]}
        for o in generated.orders
    ])
    order_id = dict(session.execute(select(Order.order_number, Order.id)).all())

    write(OrderLine, [
        {"order_id": order_id[o["order_number"]], "product_id": product_id[ln["_sku"]],
         "quantity": ln["quantity"], "unit_price": ln["unit_price"]}
        for o in generated.orders for ln in o["_lines"]
    ])
    device_rows = [
        {"customer_id": customer_id[d["_customer"]], "product_id": product_id[d["_sku"]],
         "acquired_at": d["acquired_at"], "serial_number": d["serial_number"], "order_id": None}
        for d in generated.devices
    ] + [
        {"customer_id": customer_id[d["_customer"]], "product_id": product_id[d["_sku"]],
         "acquired_at": d["acquired_at"], "serial_number": d["serial_number"],
         "order_id": order_id[o["order_number"]]}
        for o in generated.orders for d in o["_devices"]
    ]
    device_rows.sort(key=lambda r: (r["customer_id"], r["acquired_at"], r["serial_number"]))
    write(CustomerDevice, device_rows)
    write(CustomerPlan, [
        {"customer_id": customer_id[p["_customer"]], "product_id": product_id[p["_sku"]],
         "started_at": p["started_at"], "status": p["status"], "monthly_price": p["monthly_price"]}
        for p in generated.plans
    ])
    bar.close()
    session.flush()

    return SeedSummary(
        seed=seed,
        anchor=anchor,
        products=len(catalog.products),
        compatibility_links=len(catalog.links),
        customers=len(generated.customers),
        orders=len(generated.orders),
        order_lines=lines,
        devices=devices,
        plans=len(generated.plans),
        seconds=_time.perf_counter() - started,
    )
