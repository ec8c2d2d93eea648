"""The network status the internet workflows consult: known outages by postcode area, and line test results.

The shop database has no network data, so this is the seam to the network operations system: a YAML feed
(path in `$TANDEM_NETWORK_STATUS_FILE`), e.g.

    outages:
      - {area: BS9, until: "2026-11-01T18:00", reference: INC-1001}
    line_tests:          # customer id -> result of the latest line test: fault | ok
      CUST-00001: fault

Without a feed nothing is known: no outage is reported and a line test proves nothing (`tested: false`),
so the workflow books a technician rather than claiming the line is fine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

NETWORK_STATUS_ENV = "TANDEM_NETWORK_STATUS_FILE"


@dataclass(frozen=True)
class Outage:
    area: str
    reference: str
    until: datetime | None = None  # expected end; None: unknown


@dataclass(frozen=True)
class NetworkStatus:
    outages: tuple[Outage, ...] = ()
    line_tests: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: str | Path) -> NetworkStatus:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        outages = tuple(
            Outage(
                area=str(o["area"]).upper(),
                reference=str(o.get("reference") or f"INC-{str(o['area']).upper()}"),
                until=_datetime(o.get("until")),
            )
            for o in data.get("outages") or ()
        )
        tests = {str(k): str(v).lower() for k, v in (data.get("line_tests") or {}).items()}
        return cls(outages, tests)

    @classmethod
    def from_env(cls) -> NetworkStatus:
        path = os.environ.get(NETWORK_STATUS_ENV)
        return cls.from_file(path) if path else cls()

    def outage_for(self, area: str | None, now: datetime) -> Outage | None:
        """The outage covering a postcode area now, if any."""
        if not area:
            return None
        for outage in self.outages:
            if outage.area == area.upper() and (outage.until is None or outage.until > now):
                return outage
        return None

    def line_test(self, customer_id: str) -> str | None:
        """`fault`, `ok`, or None when no test result is known for the customer's line."""
        return self.line_tests.get(customer_id)


def _datetime(value: object) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
