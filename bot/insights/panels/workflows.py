"""The journey panels: `tandem journeys kpis` per workflow (bot.journeys.kpis), and each workflow's funnel (its
steps in the order journeys reach them, and where unresolved journeys stopped)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from bot.db.models import Journey, JourneyStep
from bot.insights.panels.figures import Count, compare
from bot.insights.scope import Compared, Filters, journey_scope, share
from bot.journeys.kpis import ALL_WORKFLOWS, KpiRow, journey_kpis


@dataclass(frozen=True)
class Journeys:
    """Journey KPIs per workflow (bot.journeys.kpis: FCR, time to resolution, escalation, reopens, CSAT) of the
    journeys opened in the period, the overall row last (absent when a workflow is chosen)."""

    rows: tuple[KpiRow, ...]

    @property
    def overall(self) -> KpiRow | None:
        return self.rows[-1] if self.rows else None


def _journeys(session: Session, f: Filters) -> Journeys:
    rows = journey_kpis(session, since=f.since, until=f.until, where=journey_scope(f))
    if f.workflow:
        rows = [r for r in rows if r.workflow != ALL_WORKFLOWS]
    return Journeys(tuple(rows))


def journeys(session: Session, f: Filters) -> Compared[Journeys]:
    return compare(_journeys, session, f)


@dataclass(frozen=True)
class FunnelStep:
    workflow: str
    step: str
    reached: int  # journeys that went through this step
    stopped: int  # unresolved journeys whose latest step is this one: where customers dropped out

    @property
    def drop_out(self) -> float | None:
        return share(self.stopped, self.reached)


@dataclass(frozen=True)
class Funnel:
    """Per workflow, its steps in the order journeys reach them (on average), of the journeys opened in the period."""

    journeys: tuple[Count, ...]  # journeys per workflow
    steps: tuple[FunnelStep, ...]

    def of(self, workflow: str) -> tuple[FunnelStep, ...]:
        return tuple(s for s in self.steps if s.workflow == workflow)


def _funnel(session: Session, f: Filters) -> Funnel:
    scope = journey_scope(f)
    started = dict(
        session.execute(select(Journey.workflow, func.count()).where(*scope).group_by(Journey.workflow)).all()
    )
    first_seq = (
        select(
            JourneyStep.journey_id.label("journey_id"),
            JourneyStep.step.label("step"),
            func.min(JourneyStep.seq).label("seq"),
        )
        .join(Journey, Journey.id == JourneyStep.journey_id)
        .where(*scope)
        .group_by(JourneyStep.journey_id, JourneyStep.step)
        .subquery()
    )
    reached = session.execute(
        select(Journey.workflow, first_seq.c.step, func.count(), func.avg(first_seq.c.seq))
        .join(Journey, Journey.id == first_seq.c.journey_id)
        .group_by(Journey.workflow, first_seq.c.step)
    ).all()
    stopped = dict(
        ((w, s), int(n))
        for w, s, n in session.execute(
            select(Journey.workflow, JourneyStep.step, func.count())
            .join(Journey, and_(Journey.id == JourneyStep.journey_id, JourneyStep.seq == Journey.step_count))
            .where(*scope, Journey.resolved_at.is_(None))
            .group_by(Journey.workflow, JourneyStep.step)
        )
    )
    ordered = sorted(reached, key=lambda r: (r[0], float(r[3]), r[1]))
    steps = tuple(FunnelStep(w, s, int(n), stopped.get((w, s), 0)) for w, s, n, _ in ordered)
    counts = tuple(Count(w, int(n)) for w, n in sorted(started.items()))
    return Funnel(counts, steps)


def funnel(session: Session, f: Filters) -> Compared[Funnel]:
    return compare(_funnel, session, f)
