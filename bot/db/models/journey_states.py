"""A journey's states (docs/journeys.md): the one home of these values, plain constants with no imports.

The journeys tables' constraints (`journeys`) and the journey code above the database (bot.journeys.types)
both import them from here.
"""

# Only `resolved` (confirmed by the customer or an agent) and `closed` (closed by the customer, or after
# resolution) are final.
JOURNEY_STATES = ("open", "waiting_for_customer", "waiting_for_company", "escalated", "resolved", "closed")
OPEN_JOURNEY_STATES = ("open", "waiting_for_customer", "waiting_for_company", "escalated")
