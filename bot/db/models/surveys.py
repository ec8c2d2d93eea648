"""Survey tables (bot/surveys): every CSAT, CES and NPS question put to a customer, with the answer to it."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, String

from bot.db.models.base import Base, one_of, utcnow

SURVEY_KINDS = ("csat", "ces", "nps")
# The scales are the measures' definitions (1-5 satisfaction, 1-7 effort, 0-10 likelihood to recommend), not a
# setting: answers on another scale would not be the same measure.
SURVEY_SCALES = {"csat": (1, 5), "ces": (1, 7), "nps": (0, 10)}


class SurveyAsk(Base):
    """One survey question put to a customer in a conversation (Rasa sender id), and their answer to it.

    The caps (`config/surveys.yml`) count these rows, CSAT's included. A CSAT answer is not kept here: it is
    `journey_csat`'s, one per journey, which the journey KPIs and the dashboard read; a CSAT row records the ask.
    """

    __tablename__ = "survey_asks"
    __table_args__ = (
        CheckConstraint(f"kind IN ({one_of(SURVEY_KINDS)})", name="kind"),
        CheckConstraint(
            "score IS NULL OR (kind = 'ces' AND score BETWEEN 1 AND 7) OR (kind = 'nps' AND score BETWEEN 0 AND 10)",
            name="score",
        ),
        CheckConstraint("(score IS NULL) = (answered_at IS NULL)", name="answered"),
        # The caps: the customer's asks of the last days and of the quarter.
        Index("ix_survey_asks_customer_id_asked_at", "customer_id", "asked_at"),
        # The dashboard: one measure's answers in a period.
        Index("ix_survey_asks_kind_answered_at", "kind", "answered_at"),
    )

    id = Column(Integer, primary_key=True)
    kind = Column(String(8), nullable=False)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    conversation_id = Column(String(128), nullable=False, index=True)  # the Rasa sender id it was asked in
    journey_id = Column(Integer, ForeignKey("journeys.id", ondelete="SET NULL"), nullable=True, index=True)
    workflow = Column(String(64), nullable=True)  # the journey's workflow, kept for the dashboard's filter
    moment = Column(String(32), nullable=False)  # what it was asked after (`moments` in config/surveys.yml)
    channel = Column(String(32), nullable=True)  # Rasa's input channel
    asked_at = Column(DateTime, nullable=False, default=utcnow)
    score = Column(Integer, nullable=True)  # CES 1-7, NPS 0-10; always NULL for CSAT (see above)
    answered_at = Column(DateTime, nullable=True)  # the latest answer counts
