"""SQLAlchemy ORM models (see docs/architecture.md, "Shop data model"), one module per domain.

`base` holds what every table shares (the declarative base and its naming convention, money, UTC time);
`shop`, `personalization`, `journeys`, `handoff`, `privacy`, `insights`, `surveys`, `review` and
`review_conversations` hold their tables.
Importing this package registers every table on `Base.metadata` (Alembic's env.py relies on that), and every name
is importable from here.
"""

from bot.db.models.base import EVENT_ID, MONEY, NAMING_CONVENTION, Base, utcnow
from bot.db.models.handoff import (
    AGENT_ROLES,
    HANDOFF_MESSAGE_KINDS,
    HANDOFF_STATUSES,
    OPEN_HANDOFF_STATUSES,
    Agent,
    AgentSession,
    ChatConversation,
    Handoff,
    HandoffMessage,
)
from bot.db.models.insights import (
    InsightConversation,
    InsightDay,
    InsightDayAnswer,
    InsightDayIntent,
    InsightDayMood,
    InsightDayOutcome,
    InsightEventSeen,
    InsightOffset,
    InsightTurn,
)
from bot.db.models.journeys import (
    FOLLOW_UP_KINDS,
    FOLLOW_UP_STATUSES,
    JOURNEY_STATES,
    OPEN_JOURNEY_STATES,
    Journey,
    JourneyCsat,
    JourneyFollowUp,
    JourneyStep,
)
from bot.db.models.personalization import (
    BEHAVIOUR_KINDS,
    FEEDBACK_TOPICS,
    NEXT_BEST_ACTIONS,
    BehaviourEvent,
    CustomerSegment,
    Feedback,
    MarketingPreference,
    PersonalizationConsent,
    RecommendationExclusion,
)
from bot.db.models.privacy import PRIVACY_REQUEST_KINDS, PRIVACY_REQUEST_STATUSES, PrivacyErasure, PrivacyRequest
from bot.db.models.review import ANNOTATION_ACTIONS, ReviewAnnotation, ReviewAudit, ReviewMessage
from bot.db.models.review_conversations import ReviewConversation, ReviewConversationTag, ReviewSavedTest
from bot.db.models.shop import (
    OPEN_ORDER_STATUSES,
    ORDER_STATUSES,
    PLAN_STATUSES,
    Customer,
    CustomerDevice,
    CustomerPlan,
    Order,
    OrderLine,
    Product,
    ProductCompatibility,
)
from bot.db.models.surveys import SURVEY_KINDS, SURVEY_SCALES, SurveyAsk

__all__ = [
    "AGENT_ROLES",
    "ANNOTATION_ACTIONS",
    "BEHAVIOUR_KINDS",
    "EVENT_ID",
    "FEEDBACK_TOPICS",
    "FOLLOW_UP_KINDS",
    "FOLLOW_UP_STATUSES",
    "HANDOFF_MESSAGE_KINDS",
    "HANDOFF_STATUSES",
    "JOURNEY_STATES",
    "MONEY",
    "NAMING_CONVENTION",
    "NEXT_BEST_ACTIONS",
    "OPEN_HANDOFF_STATUSES",
    "OPEN_JOURNEY_STATES",
    "OPEN_ORDER_STATUSES",
    "ORDER_STATUSES",
    "PLAN_STATUSES",
    "PRIVACY_REQUEST_KINDS",
    "PRIVACY_REQUEST_STATUSES",
    "SURVEY_KINDS",
    "SURVEY_SCALES",
    "Agent",
    "AgentSession",
    "Base",
    "BehaviourEvent",
    "ChatConversation",
    "Customer",
    "CustomerDevice",
    "CustomerPlan",
    "CustomerSegment",
    "Feedback",
    "Handoff",
    "HandoffMessage",
    "InsightConversation",
    "InsightDay",
    "InsightDayAnswer",
    "InsightDayIntent",
    "InsightDayMood",
    "InsightDayOutcome",
    "InsightEventSeen",
    "InsightOffset",
    "InsightTurn",
    "Journey",
    "JourneyCsat",
    "JourneyFollowUp",
    "JourneyStep",
    "MarketingPreference",
    "Order",
    "OrderLine",
    "PersonalizationConsent",
    "PrivacyErasure",
    "PrivacyRequest",
    "Product",
    "ProductCompatibility",
    "RecommendationExclusion",
    "ReviewAnnotation",
    "ReviewAudit",
    "ReviewConversation",
    "ReviewConversationTag",
    "ReviewMessage",
    "ReviewSavedTest",
    "SurveyAsk",
    "utcnow",
]
