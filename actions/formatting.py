"""How shop data reads in a chat message."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from bot.shop.orders import items_summary


def money(amount: Any) -> str:
    return f"£{Decimal(str(amount)):,.2f}"


def day(value: dt.date | None) -> str:
    if value is None:
        return "an unknown date"
    if isinstance(value, dt.datetime):
        value = value.date()
    if abs((value - dt.date.today()).days) > 180:
        return f"{value.day} {value:%B %Y}"
    return f"{value:%A} {value.day} {value:%B}"


def items(lines: Sequence[Any]) -> str:
    """'Apple iPhone 15 and 2 other items' from an order's lines."""
    return items_summary(lines)


def bullet_list(entries: Iterable[str]) -> str:
    return "\n".join(f"• {entry}" for entry in entries)


def line_list(lines: Sequence[Any]) -> str:
    """Every line of an order, one per row: '• 2 × Apple iPhone 15 Case'."""
    return bullet_list(f"{line.quantity} × {line.product_name}" for line in lines)


def order_values(order: Any) -> dict[str, str]:
    """The placeholders every order response may use ({order_id}, {items}, {eta}, ...)."""
    return dict(
        order_id=order.number,
        items=items(order.lines),
        eta=day(order.estimated_delivery),
        carrier=order.carrier or "our courier",
        tracking=order.tracking_number or "not yet available",
        total=money(order.total),
        placed_on=day(order.placed_at),
        delivered_on=day(order.delivered_at),
    )


def refund_state(refund: Any) -> str:
    if refund.issued_on is None:
        return "refunded to your original payment method"
    if refund.arrived:
        return f"refunded on {day(refund.issued_on)}"
    return f"issued on {day(refund.issued_on)}, due in your account by {day(refund.expected_by)}"
