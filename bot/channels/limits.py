"""Rate limits on the input channels: messages per customer (or anonymous conversation) and per client address.

Every socket.io event and REST request counts against its client's address (before anything else is read);
a message also counts against its customer once the token is verified (an anonymous visitor's against the
conversation). A refusal is `ChannelError(429)` with the seconds to wait (`Retry-After`, `retry_after`).
Limits come from the settings (`TANDEM_RATE_PER_CUSTOMER`, `TANDEM_RATE_PER_ADDRESS`, per minute; 0 turns
one off); the buckets are shared through Redis when `TANDEM_REDIS_URL` is set (`bot.ratelimit`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.channels.inbound import ChannelError
from bot.ratelimit import Limiter, Network, Rate, client_address, make_limiter, parse_networks, retry_after
from bot.settings import Settings

TOO_MANY = "too many messages; wait {seconds} s and send it again"


@dataclass
class ChannelLimits:
    limiter: Limiter
    per_customer: Rate | None
    per_address: Rate | None
    trusted_proxies: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> ChannelLimits:
        return cls(
            make_limiter(settings.redis_url or None),
            Rate.per_minute(settings.rate_per_customer),
            Rate.per_minute(settings.rate_per_address),
            parse_networks(settings.trusted_proxies),
        )

    def address_of(self, peer: str | None, forwarded_for: str | None) -> str:
        """The client's address (X-Forwarded-For counts only from a trusted proxy)."""
        return client_address(peer, forwarded_for, self.trusted_proxies)

    async def check_address(self, address: str) -> None:
        """Count one request from `address`; raises ChannelError(429) when it is over its limit."""
        await self._take(f"channel:address:{address}", self.per_address)

    async def check_customer(self, customer: str | None, conversation_id: str) -> None:
        """Count one message from the customer, or from the anonymous conversation when nobody signed in."""
        key = f"channel:customer:{customer}" if customer else f"channel:conversation:{conversation_id}"
        await self._take(key, self.per_customer)

    async def _take(self, key: str, rate: Rate | None) -> None:
        if rate is None:
            return
        wait = await self.limiter.take(key, rate)
        if wait > 0:
            seconds = retry_after(wait)
            raise ChannelError(429, TOO_MANY.format(seconds=seconds), retry_after=seconds)

    async def close(self) -> None:
        await self.limiter.close()
