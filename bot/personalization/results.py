"""What the personalization engine answers: recommendations with their reasons, an offer, or why nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

# Why nothing was suggested (RecommendationResult.withheld).
WITHHELD_OPEN_ISSUE = "open_issue"
WITHHELD_FREQUENCY_CAP = "frequency_cap"
WITHHELD_NO_CONSENT = "no_consent"
WITHHELD_NO_MODEL = "no_model"
WITHHELD_NOTHING_TO_OFFER = "nothing_to_offer"
WITHHELD_UNSUBSCRIBED = "unsubscribed"  # the customer unsubscribed from marketing: nothing unasked-for
# What is served before any model was trained (not logged: there is no model to learn about).
BEST_SELLERS = "best_sellers"


@dataclass(frozen=True)
class Recommendation:
    sku: str
    name: str
    category: str
    brand: str
    price: float
    reason: str  # a sentence for the customer: "because you bought the MacBook Air 13"
    reason_code: str


@dataclass(frozen=True)
class RecommendationResult:
    items: tuple[Recommendation, ...] = ()
    strategy: str | None = None
    request_id: str | None = None  # ties the impressions to later clicks
    personalized: bool = False
    withheld: str | None = None  # why nothing was suggested (WITHHELD_*), when it was a rule


@dataclass(frozen=True)
class Offer:
    """The next-best-action, ready to say: a retention offer, an upsell (with items), or nothing."""

    action: str  # retention_offer | upsell | none
    reason: str  # for the agent console: why this action
    recommendations: RecommendationResult = field(default_factory=RecommendationResult)
    withheld: str | None = None
