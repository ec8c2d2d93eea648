"""The journey panels' tables: KPIs per workflow, the funnel, and survey answers (overall, by workflow and segment,
per day)."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.insights.panels.workflows import Funnel, Journeys
from bot.insights.scope import Compared, Filters
from bot.insights.surveys import Surveys
from bot.insights.tables.table import Column, Table


def journeys_table(p: Compared[Journeys], f: Filters) -> Table:
    before = {r.workflow: r for r in p.previous.rows}
    rows = []
    for r in p.current.rows:
        b = before.get(r.workflow)
        rows.append(
            (
                r.workflow,
                r.journeys,
                r.resolution_rate,
                r.first_contact_resolution,
                r.median_hours_to_resolution,
                r.p90_hours_to_resolution,
                r.escalation_rate,
                r.reopen_rate,
                r.csat_average,
                r.csat_responses,
                b.journeys if b else 0,
                b.first_contact_resolution if b else None,
            )
        )
    return Table(
        "journeys",
        "Journeys per workflow (opened in the period)",
        (
            Column("workflow", "Workflow", "text"),
            Column("journeys", "Journeys"),
            Column("resolved", "Resolved", "rate"),
            Column("first_contact_resolution", "First-contact resolution", "rate"),
            Column("median_hours_to_resolution", "Median time to resolution", "hours"),
            Column("p90_hours_to_resolution", "90th percentile", "hours"),
            Column("escalation_rate", "Escalated", "rate"),
            Column("reopen_rate", "Reopened", "rate"),
            Column("csat_average", "CSAT", "score"),
            Column("csat_responses", "CSAT answers"),
            Column("previous_journeys", "Journeys, previous period"),
            Column("previous_first_contact_resolution", "FCR then", "rate"),
        ),
        tuple(rows),
    )


def funnel_table(p: Compared[Funnel], f: Filters) -> Table:
    before = {(s.workflow, s.step): s for s in p.previous.steps}
    rows = []
    for s in p.current.steps:
        b = before.get((s.workflow, s.step))
        rows.append(
            (s.workflow, s.step, s.reached, s.stopped, s.drop_out, b.reached if b else 0, b.drop_out if b else None)
        )
    return Table(
        "funnel",
        "Where customers drop out: each workflow's steps, in the order journeys reach them",
        (
            Column("workflow", "Workflow", "text"),
            Column("step", "Step", "text"),
            Column("reached", "Journeys that reached it"),
            Column("stopped", "Stopped there, unresolved"),
            Column("drop_out", "Drop-out", "rate"),
            Column("previous_reached", "Reached, previous period"),
            Column("previous_drop_out", "Drop-out then", "rate"),
        ),
        tuple(rows),
    )


def surveys_table(p: Compared[Surveys], f: Filters) -> Table:
    rows = []
    for m in p.current.measures:
        then = p.previous.of(m.measure.key)
        groups = (
            [("overall", m.overall)] + [("workflow", s) for s in m.by_workflow] + [("segment", s) for s in m.by_segment]
        )
        before: dict[tuple[str, str], Any] = {}
        if then is not None:
            before = {("overall", "all"): then.overall}
            before |= {("workflow", s.key): s for s in then.by_workflow}
            before |= {("segment", s.key): s for s in then.by_segment}
        for kind, s in groups:
            b = before.get((kind, s.key))
            rows.append(
                (
                    m.measure.label,
                    kind,
                    s.key,
                    s.responses,
                    s.headline(m.measure),
                    s.good_share,
                    b.responses if b else 0,
                    b.headline(m.measure) if b else None,
                )
            )
    return Table(
        "surveys",
        "Survey answers: overall, by workflow and by customer segment",
        (
            Column("measure", "Measure", "text"),
            Column("group_by", "Grouped by", "text"),
            Column("group", "Group", "text"),
            Column("responses", "Answers"),
            Column("score", "Score", "score"),
            Column("good_share", "Satisfied (top two)", "rate"),
            Column("previous_responses", "Answers, previous period"),
            Column("previous_score", "Score then", "score"),
        ),
        tuple(rows),
    )


def surveys_by_day_table(p: Compared[Surveys], f: Filters) -> Table:
    rows = []
    for m in p.current.measures:
        for s in m.per_day:
            rows.append((m.measure.label, date.fromisoformat(s.key), s.responses, s.headline(m.measure)))
    return Table(
        "surveys-by-day",
        "Survey answers per day",
        (
            Column("measure", "Measure", "text"),
            Column("day", "Day", "date"),
            Column("responses", "Answers"),
            Column("score", "Score", "score"),
        ),
        tuple(rows),
    )
