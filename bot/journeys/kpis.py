"""Service KPIs from the journeys: how often, how fast and how well problems get solved, per workflow.

Definitions (over the journeys opened in the period):
- first-contact resolution: resolved in its first conversation by the bot, with no follow-up sent, no
  escalation, no reopening and no agent marking it resolved; as a share of all journeys;
- time to resolution: opened -> (latest) resolution, median and 90th percentile, resolved journeys only;
- escalation rate: journeys handed to a person at any point (the bot's escalation or unanswered nudges);
- reopen rate: journeys that came back after being resolved or closed;
- CSAT: mean 1-5 score and the number of answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from bot.db.models import Journey, JourneyCsat, JourneyFollowUp, JourneyStep

ALL_WORKFLOWS = "(all)"


@dataclass(frozen=True)
class KpiRow:
    workflow: str  # ALL_WORKFLOWS for the overall row
    journeys: int
    resolved: int
    first_contact_resolved: int
    escalated: int
    reopened: int
    median_hours_to_resolution: float | None
    p90_hours_to_resolution: float | None
    csat_responses: int
    csat_average: float | None

    @property
    def first_contact_resolution(self) -> float | None:
        return self.first_contact_resolved / self.journeys if self.journeys else None

    @property
    def escalation_rate(self) -> float | None:
        return self.escalated / self.journeys if self.journeys else None

    @property
    def reopen_rate(self) -> float | None:
        return self.reopened / self.journeys if self.journeys else None

    @property
    def resolution_rate(self) -> float | None:
        return self.resolved / self.journeys if self.journeys else None


def _row(workflow: str, mask: np.ndarray, cols: dict[str, np.ndarray]) -> KpiRow:
    hours = cols["hours"][mask & cols["resolved"]]
    median, p90 = (float(v) for v in np.percentile(hours, [50, 90])) if hours.size else (None, None)
    scores = cols["csat"][mask]
    scores = scores[~np.isnan(scores)]
    return KpiRow(
        workflow=workflow,
        journeys=int(mask.sum()),
        resolved=int((mask & cols["resolved"]).sum()),
        first_contact_resolved=int((mask & cols["fcr"]).sum()),
        escalated=int((mask & cols["escalated"]).sum()),
        reopened=int((mask & cols["reopened"]).sum()),
        median_hours_to_resolution=median,
        p90_hours_to_resolution=p90,
        csat_responses=int(scores.size),
        csat_average=float(scores.mean()) if scores.size else None,
    )


def _seconds(end: datetime, start: datetime) -> float:
    return (end.replace(microsecond=0) - start.replace(microsecond=0)).total_seconds()


def journey_kpis(
    session: Session, *, since: datetime, until: datetime, where: Sequence[ColumnElement[bool]] = ()
) -> list[KpiRow]:
    """One row per workflow (by name), then the overall row; empty when no journey was opened in the period.
    `where` narrows the journeys further (the insights dashboard's channel, segment and workflow filters)."""
    conversations = (
        select(func.count(distinct(JourneyStep.conversation_id)))
        .where(JourneyStep.journey_id == Journey.id)
        .scalar_subquery()
    )
    follow_ups_sent = (
        select(func.count(JourneyFollowUp.id))
        .where(JourneyFollowUp.journey_id == Journey.id, JourneyFollowUp.status == "sent")
        .scalar_subquery()
    )
    rows = (
        session.connection()
        .execute(  # plain rows: the ORM's work per row took longer than the query
            select(
                Journey.workflow,
                Journey.opened_at,
                Journey.resolved_at,
                Journey.resolved_by,
                Journey.escalation_reason,
                Journey.reopened_count,
                conversations,
                follow_ups_sent,
                JourneyCsat.score,
            )
            .outerjoin(JourneyCsat, JourneyCsat.journey_id == Journey.id)
            .where(Journey.opened_at >= since, Journey.opened_at < until, *where)
        )
        .all()
    )
    if not rows:
        return []
    workflow, opened, resolved_at, resolved_by, reason, reopens, convs, sent, score = (list(c) for c in zip(*rows))
    resolved = np.array([r is not None for r in resolved_at])
    hours = np.array(  # whole seconds, as datetime64[s] counted them (converting objects to it is slow)
        [np.nan if r is None else _seconds(r, o) / 3600.0 for o, r in zip(opened, resolved_at)], dtype="float64"
    )
    by_agent = np.array([(who or "").startswith("agent:") for who in resolved_by])
    escalated = np.array([r is not None for r in reason])
    reopened = np.array(reopens) > 0
    cols = {
        "resolved": resolved,
        "hours": hours,
        "escalated": escalated,
        "reopened": reopened,
        "fcr": resolved & ~by_agent & ~escalated & ~reopened & (np.array(convs) <= 1) & (np.array(sent) == 0),
        "csat": np.array([np.nan if s is None else s for s in score], dtype="float64"),
    }
    names = np.array(workflow, dtype=object)
    per_workflow = [_row(name, names == name, cols) for name in sorted(set(workflow))]
    return per_workflow + [_row(ALL_WORKFLOWS, np.ones(len(rows), dtype=bool), cols)]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _hours(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} d"


def format_kpis(rows: list[KpiRow]) -> str:
    """The KPIs as a fixed-width table (what `tandem journeys kpis` prints)."""
    if not rows:
        return "No journeys in this period."
    header = ("workflow", "journeys", "resolved", "FCR", "median TTR", "p90 TTR", "escalated", "reopened", "CSAT")
    table = [header] + [
        (
            r.workflow,
            str(r.journeys),
            _pct(r.resolution_rate),
            _pct(r.first_contact_resolution),
            _hours(r.median_hours_to_resolution),
            _hours(r.p90_hours_to_resolution),
            _pct(r.escalation_rate),
            _pct(r.reopen_rate),
            "-" if r.csat_average is None else f"{r.csat_average:.2f} ({r.csat_responses})",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        for row in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
