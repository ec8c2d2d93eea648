"""The demo shop's fixed catalogue: products with SKUs, names and attributes, and what fits what.

Built from the data files in a fixed order (phones, laptops, tablets, smartwatches, headphones, accessories,
plans), so SKUs and compatibility links are the same on every run; the seed only drives customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.shop.categories import CATEGORY_NAMES, DEVICE_CATEGORIES
from bot.shop.seed.loader import FittingProduct, catalog_data
from bot.shop.seed.rules import holds

_FIELDS = ("category", "family", "brand")  # read from the product itself; any other name from its attributes


@dataclass(frozen=True)
class ProductSpec:
    """A product as the seed writes it (one `products` row)."""

    sku: str
    name: str
    category: str
    brand: str
    price: Decimal
    description: str
    attributes: dict[str, Any]
    family: str | None = None
    active: bool = True

    def field(self, name: str) -> Any:
        """A field by name, as the data files' `only_if` conditions name it."""
        return getattr(self, name) if name in _FIELDS else self.attributes.get(name)

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


@dataclass(frozen=True)
class Catalog:
    products: list[ProductSpec]
    links: list[tuple[str, str]]  # (accessory/plan/watch sku, device sku), sorted

    def by_sku(self) -> dict[str, ProductSpec]:
        return {p.sku: p for p in self.products}


def _label(brand: str, model: str) -> str:
    return model if model.startswith(brand) else f"{brand} {model}"


def build_catalog() -> Catalog:
    """The shop's fixed catalog and its compatibility links (pure data, no randomness)."""
    data = catalog_data()
    products: list[ProductSpec] = []
    counters = {slug: 0 for slug in CATEGORY_NAMES}

    def add(
        category: str,
        brand: str,
        name: str,
        price: Decimal,
        description: str,
        attributes: dict,
        family: str | None = None,
        active: bool = True,
    ) -> ProductSpec:
        counters[category] += 1
        spec = ProductSpec(
            sku=f"{data.sku_prefixes[category]}-{counters[category]:04d}",
            name=name,
            category=category,
            brand=brand,
            price=price,
            description=description,
            attributes=attributes,
            family=family,
            active=active,
        )
        products.append(spec)
        return spec

    for phone in data.phones:
        label = _label(phone.brand, phone.model)
        for storage, price in phone.price_by_storage.items():
            for colour in phone.colours:
                add(
                    "phones",
                    phone.brand,
                    f"{label} {storage} {colour}",
                    price,
                    f'{label} with a {phone.screen_in}" display, {storage} of storage, 5G and {phone.pitch}.',
                    {
                        "model": phone.model,
                        "storage": storage,
                        "colour": colour,
                        "screen_in": phone.screen_in,
                        "connector": phone.connector,
                        "wireless_charging": phone.wireless_charging,
                        "magsafe": phone.family == "iphone",
                        "network": "5G",
                        "release_year": phone.release_year,
                    },
                    family=phone.family,
                    active=phone.on_sale,
                )

    for laptop in data.laptops:
        brand, model, chip = laptop.brand, laptop.model, laptop.chip
        for config in laptop.configurations:
            ram, ssd = config.ram, config.storage
            for colour in laptop.colours:
                add(
                    "laptops",
                    brand,
                    f"{brand} {model} {chip} {ram} RAM {ssd} SSD {colour}",
                    config.price,
                    f"{brand} {model} with {chip}, {ram} of memory, a {ssd} SSD and {laptop.pitch}.",
                    {
                        "model": model,
                        "processor": chip,
                        "ram": ram,
                        "storage": ssd,
                        "colour": colour,
                        "screen_in": laptop.screen_in,
                        "connector": "usb-c",
                    },
                    family=laptop.family,
                )

    for tablet in data.tablets:
        brand, model = tablet.brand, tablet.model
        for storage, price in tablet.price_by_storage.items():
            for colour in tablet.colours:
                add(
                    "tablets",
                    brand,
                    f"{brand} {model} {storage} Wi-Fi {colour}",
                    price,
                    f'{brand} {model} with a {tablet.screen_in}" display, {storage} of storage and {tablet.pitch}.',
                    {
                        "model": model,
                        "storage": storage,
                        "colour": colour,
                        "screen_in": tablet.screen_in,
                        "connectivity": "Wi-Fi",
                        "connector": "usb-c",
                    },
                    family=tablet.family,
                )

    for watch in data.smartwatches:
        brand, model = watch.brand, watch.model
        for size in watch.sizes:
            conn = "GPS + Cellular" if size.cellular else "GPS"
            for colour in watch.colours:
                add(
                    "smartwatches",
                    brand,
                    f"{brand} {model} {size.case_mm}mm {conn} {colour}",
                    size.price,
                    f"{brand} {model} ({size.case_mm}mm, {conn}) with {watch.pitch}.",
                    {"model": model, "case_size_mm": size.case_mm, "cellular": size.cellular, "colour": colour},
                    family=watch.family,
                )

    for audio in data.headphones:
        brand, title = audio.brand, audio.title
        for colour in audio.colours:
            add(
                "headphones",
                brand,
                f"{brand} {title} {colour}" if len(audio.colours) > 1 else f"{brand} {title}",
                audio.price,
                f"{brand} {title}: {audio.type} wireless audio"
                f"{' with active noise cancellation' if audio.noise_cancelling else ''} and up to "
                f"{audio.battery_hours} hours of listening.",
                {
                    "type": audio.type,
                    "noise_cancelling": audio.noise_cancelling,
                    "battery_hours": audio.battery_hours,
                    "colour": colour,
                    "connection": "Bluetooth",
                },
            )

    phones = [p for p in products if p.category == "phones"]
    phone_models: dict[tuple[str, str], ProductSpec] = {}  # (family, model) -> its first phone, in catalog order
    for p in phones:
        phone_models.setdefault((p.family or "", p.attributes["model"]), p)

    links: set[tuple[str, str]] = set()
    for accessory in data.phone_accessories:
        for (family, model), example in phone_models.items():
            if family not in accessory.families or (
                accessory.only_if is not None and not holds(accessory.only_if, example.field)
            ):
                continue
            what = "case" if accessory.type == "case" else "screen protector"
            acc = add(
                "phone_accessories",
                accessory.brand,
                accessory.name.format(model=model),
                accessory.price,
                f"A {accessory.material} {what} made for the {model}.",
                {
                    "type": accessory.type,
                    "fits_model": model,
                    "fits_family": family,
                    "colour": accessory.colour,
                    "material": accessory.material,
                    "magsafe": "MagSafe" in accessory.name,
                },
            )
            for handset in phones:
                if handset.family == family and handset.attributes["model"] == model:
                    links.add((acc.sku, handset.sku))

    devices = [p for p in products if p.category in DEVICE_CATEGORIES]
    table: tuple[FittingProduct, ...]
    for category, table in (("chargers_cables", data.chargers_cables), ("laptop_accessories", data.laptop_accessories)):
        for item in table:
            acc = add(
                category,
                item.brand,
                item.name,
                item.price,
                item.description,
                {"type": item.type, "fits_families": list(item.families)},
            )
            for device in devices:
                if device.family in item.families and (item.only_if is None or holds(item.only_if, device.field)):
                    links.add((acc.sku, device.sku))

    for mobile in data.mobile_plans:
        name, months, watch_plan = mobile.name, mobile.contract_months, mobile.for_smartwatch
        plan = add(
            "mobile_plans",
            "Tandem Mobile",
            name,
            mobile.price,
            f"{name}: {mobile.data_allowance} of data, unlimited UK minutes and texts, {months}-month "
            f"contract{', EU roaming included' if mobile.eu_roaming else ''}.",
            {
                "data_allowance": mobile.data_allowance,
                "data_gb": mobile.data_gb,
                "network": mobile.network,
                "contract_months": months,
                "minutes": "Unlimited",
                "texts": "Unlimited",
                "eu_roaming": mobile.eu_roaming,
                "for": "smartwatch" if watch_plan else "phone",
            },
        )
        for device in devices:
            if (watch_plan and device.category == "smartwatches" and device.attributes.get("cellular")) or (
                not watch_plan and device.category == "phones"
            ):
                links.add((plan.sku, device.sku))

    for fibre in data.home_internet:
        down, up = fibre.download_mbps, fibre.upload_mbps
        add(
            "home_internet",
            "Tandem Fibre",
            fibre.name,
            fibre.price,
            f"{fibre.name}: average {down} Mbps download and {up} Mbps upload over {fibre.technology}, "
            f"{fibre.router} included, {fibre.contract_months}-month contract.",
            {
                "download_mbps": down,
                "upload_mbps": up,
                "technology": fibre.technology,
                "contract_months": fibre.contract_months,
                "router": fibre.router,
                "speed": f"{down} Mbps",
            },
        )

    # Smartwatches pair with the phones of their ecosystem.
    for watch_product in (p for p in products if p.category == "smartwatches"):
        for handset in phones:
            if handset.family in data.smartwatch_pairs[watch_product.family or ""]:
                links.add((watch_product.sku, handset.sku))

    return Catalog(products=products, links=sorted(links))
