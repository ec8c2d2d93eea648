"""The personalization engine: what actions ask for recommendations, "not interested", clicks and offers.

One request reads the customer's consent, history, devices and exclusions (a handful of indexed queries),
scores the catalog with the live model (numpy, in memory) and writes the impressions in the caller's
session, so what the customer was shown is stored before the bot answers. The rules that make it
trustworthy live here, in one place, whatever strategy ranks the items:

- every item carries a reason a customer understands;
- "not interested" keeps an item (or, on request, its category) out for a configurable time;
- suggestions nobody asked for are capped per time window, held back while a problem is open, and stop once
  the customer unsubscribes from marketing;
- without consent, behaviour is neither read nor used: suggestions are the non-personalized best sellers.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

import numpy as np
from sqlalchemy.orm import Session

from bot.db.models import utcnow
from bot.personalization import store
from bot.personalization.config import PersonalizationConfig
from bot.personalization.experiments import NON_PERSONALIZED, assign_strategy
from bot.personalization.explain import reason_sentence, strongest_kinds
from bot.personalization.model_store import ModelBundle, ModelCache
from bot.personalization.open_issues import NoOpenIssues, OpenIssues
from bot.personalization.recommenders.base import REASON_POPULAR, RequestContext, ScoredItem, UserHistory
from bot.personalization.recommenders.ranking import recommend_with
from bot.personalization.results import (
    BEST_SELLERS,
    WITHHELD_FREQUENCY_CAP,
    WITHHELD_NO_CONSENT,
    WITHHELD_NO_MODEL,
    WITHHELD_NOTHING_TO_OFFER,
    WITHHELD_OPEN_ISSUE,
    WITHHELD_UNSUBSCRIBED,
    Offer,
    Recommendation,
    RecommendationResult,
)
from bot.personalization.shop_training_data import event_weight
from bot.shop import catalog
from bot.shop.customers import customer_pk


@dataclass
class _Customer:
    """What one request knows about the customer; behaviour fields stay empty without consent."""

    id: int | None
    external_id: str | None
    consented: bool = False
    history: UserHistory = field(default_factory=UserHistory)
    kinds: dict[int, str] = field(default_factory=dict)  # catalog index -> strongest way they met it
    owned: list[store.OwnedDevice] = field(default_factory=list)
    excluded: store.Exclusions = field(default_factory=store.Exclusions)
    do_not_repeat: set[int] = field(default_factory=set)  # bought or returned: never suggested again


class PersonalizationEngine:
    def __init__(
        self,
        models: ModelCache,
        *,
        config: PersonalizationConfig | None = None,
        open_issues: OpenIssues | None = None,
    ) -> None:
        self.models = models
        self.config = config or PersonalizationConfig.from_env()
        self.open_issues = open_issues or NoOpenIssues()

    # --- recommendations --------------------------------------------------------------------------------------

    def recommend(
        self,
        session: Session,
        customer_external_id: str | None,
        *,
        category: str | None = None,
        brand: str | None = None,
        max_price: float | Decimal | None = None,
        focus_skus: Sequence[str] = (),
        n: int = 3,
        solicited: bool = True,
        channel: str = "chat",
        now: datetime | None = None,
        within: Collection[int] | None = None,
    ) -> RecommendationResult:
        """Up to `n` suggestions, from the products `within` when given (the kind the customer named). Unasked-for
        ones (`solicited=False`) are frequency-capped and held back while the customer has an open issue."""
        now = now or utcnow()
        customer_id = customer_pk(session, customer_external_id)
        if not solicited:
            withheld = self._promotion_blocked(session, customer_id, now)
            if withheld:
                return RecommendationResult(withheld=withheld)
        bundle = self.models.get()
        if bundle is None:
            return self._without_model(session, customer_id, category, brand, max_price, n, now, within)
        customer = self._customer(session, bundle, customer_id, customer_external_id, now)
        strategy = (
            assign_strategy(customer.external_id, self.config.strategies, self.config.experiment_salt)
            if customer.consented and customer.external_id is not None  # consent is only ever found by that id
            else NON_PERSONALIZED
        )
        context = self._context(bundle, customer, category, brand, max_price, focus_skus, now)
        exclude = self._exclude_mask(bundle, customer, asked_category=category)
        if within is not None:
            exclude |= ~np.isin(bundle.product_ids, list(within))
        scored = self._rank(bundle, strategy, customer, context, n, exclude)
        items = tuple(self._explain(bundle, customer, s) for s in scored)
        request_id = uuid.uuid4().hex if items else None
        if customer.id is not None and items:
            store.record_events(
                session,
                [
                    {
                        "customer_id": customer.id,
                        "product_id": int(bundle.product_ids[s.item]),
                        "category": bundle.catalog.categories[s.item],
                        "kind": "impression",
                        "occurred_at": now,
                        "channel": channel,
                        "strategy": strategy,
                        "request_id": request_id,
                        "solicited": solicited,
                    }
                    for s in scored
                ],
            )
        return RecommendationResult(
            items=items,
            strategy=strategy,
            request_id=request_id,
            personalized=customer.consented and strategy != NON_PERSONALIZED,
        )

    def _without_model(
        self,
        session: Session,
        customer_id: int | None,
        category: str | None,
        brand: str | None,
        max_price: float | Decimal | None,
        n: int,
        now: datetime,
        within: Collection[int] | None = None,
    ) -> RecommendationResult:
        """Before the first `tandem recs train`: the best sellers minus what the customer turned down."""
        excluded = store.active_exclusions(session, customer_id, now) if customer_id else store.Exclusions()
        excluded_skus = set(store.skus_for(session, excluded.product_ids))
        allowed = None if within is None else set(store.skus_for(session, within))
        blocked = excluded.categories - ({category} if category else set())
        found = [
            p
            for p in catalog.popular_products(session, category=category, brand=brand, limit=n * 4, now=now)
            if (max_price is None or float(p.price) <= max_price)
            and p.sku not in excluded_skus
            and p.category not in blocked
            and (allowed is None or p.sku in allowed)
        ][:n]
        items = tuple(
            Recommendation(
                p.sku, p.name, p.category, p.brand, float(p.price), reason_sentence(REASON_POPULAR), REASON_POPULAR
            )
            for p in found
        )
        return RecommendationResult(items=items, strategy=BEST_SELLERS, withheld=None if items else WITHHELD_NO_MODEL)

    def _promotion_blocked(self, session: Session, customer_id: int | None, now: datetime) -> str | None:
        if customer_id is None:
            return None
        if store.is_unsubscribed(session, customer_id):
            return WITHHELD_UNSUBSCRIBED
        if self.open_issues.has_open_issue(session, customer_id):
            return WITHHELD_OPEN_ISSUE
        since = now - timedelta(hours=self.config.unsolicited_window_hours)
        if store.unsolicited_shown_since(session, customer_id, since) >= self.config.unsolicited_cap:
            return WITHHELD_FREQUENCY_CAP
        return None

    def _customer(
        self, session: Session, bundle: ModelBundle, customer_id: int | None, external_id: str | None, now: datetime
    ) -> _Customer:
        customer = _Customer(id=customer_id, external_id=external_id)
        if customer_id is None:
            return customer
        customer.excluded = store.active_exclusions(session, customer_id, now)
        customer.consented = store.has_consent(session, customer_id)
        if not customer.consented:
            return customer  # behaviour is not used: no history, devices or segment
        since = now - timedelta(days=self.config.history_days)
        weights: dict[int, float] = {}
        kinds: dict[int, list[str]] = {}
        for event in store.recent_history(session, customer_id, since=since):
            index = bundle.index_of_product(event.product_id)
            if index is None:
                continue
            if event.kind in ("purchase", "return"):
                customer.do_not_repeat.add(index)
            if event.kind == "return":
                continue
            weights[index] = weights.get(index, 0.0) + event_weight(event.kind, event.value)
            kinds.setdefault(index, []).append(event.kind)
        positive = [(i, w) for i, w in weights.items() if w > 0]
        segment = store.segment_label(session, customer_id)
        customer.history = UserHistory(
            items=np.array([i for i, _ in positive], dtype=np.int32),
            weights=np.array([w for _, w in positive], dtype=np.float32),
            user_index=bundle.row_of_user(external_id) if external_id else None,
            segment=segment,
        )
        customer.kinds = strongest_kinds(kinds)
        customer.owned = store.owned_devices(session, customer_id)
        for device in customer.owned:
            index = bundle.index_of_product(device.product_id)
            if index is not None:
                customer.do_not_repeat.add(index)
        return customer

    def _context(
        self,
        bundle: ModelBundle,
        customer: _Customer,
        category: str | None,
        brand: str | None,
        max_price: float | Decimal | None,
        focus_skus: Sequence[str],
        now: datetime,
    ) -> RequestContext:
        focus = tuple(i for i in (bundle.index_of_sku(s) for s in focus_skus) if i is not None)
        recent_since = now - timedelta(days=self.config.recent_device_days)
        recent = tuple(
            i
            for i in (bundle.index_of_product(d.product_id) for d in customer.owned if d.acquired_at >= recent_since)
            if i is not None
        )
        return RequestContext(
            category=category,
            brand=brand,
            max_price=max_price,
            focus_items=focus,
            owned_families=frozenset(d.family for d in customer.owned if d.family),
            recent_device_items=recent,
        )

    def _exclude_mask(self, bundle: ModelBundle, customer: _Customer, asked_category: str | None) -> np.ndarray:
        mask = np.zeros(bundle.catalog.n_items, dtype=bool)
        for product_id in customer.excluded.product_ids:
            index = bundle.index_of_product(product_id)
            if index is not None:
                mask[index] = True
        # A category the customer turned down stays out, unless they ask for it again themselves.
        blocked = customer.excluded.categories - ({asked_category} if asked_category else set())
        if blocked:
            mask |= np.isin(bundle.catalog.categories, list(blocked))
        if customer.do_not_repeat:
            mask[list(customer.do_not_repeat)] = True
        return mask

    def _rank(
        self,
        bundle: ModelBundle,
        strategy: str,
        customer: _Customer,
        context: RequestContext,
        n: int,
        exclude: np.ndarray,
    ) -> list[ScoredItem]:
        name = strategy if strategy in bundle.recommenders else "popularity"
        recommender = bundle.recommenders[name]
        history = customer.history if customer.consented else UserHistory()
        if name == "hybrid":
            return recommender.recommend(history, context, n=n, exclude=exclude)
        return recommend_with(recommender, history, context, n=n, exclude=exclude, catalog=bundle.rules)

    def _explain(self, bundle: ModelBundle, customer: _Customer, scored: ScoredItem) -> Recommendation:
        catalog = bundle.catalog
        i = scored.item
        reason_item = scored.reason_item
        device_name = None
        fits = catalog.fits[i]
        for device in customer.owned:
            if device.family and device.family in fits:
                index = bundle.index_of_product(device.product_id)
                device_name = catalog.names[index] if index is not None else None
                break
        anchor_family = catalog.family[reason_item] if reason_item is not None else None
        sentence = reason_sentence(
            scored.reason,
            item_name=catalog.names[reason_item] if reason_item is not None else None,
            item_kind=customer.kinds.get(reason_item) if reason_item is not None else None,
            device_name=device_name,
            accessory_of_item=bool(anchor_family) and anchor_family in fits,
        )
        return Recommendation(
            sku=str(catalog.item_ids[i]),
            name=str(catalog.names[i]),
            category=str(catalog.categories[i]),
            brand=str(catalog.brands[i]),
            price=float(catalog.prices[i]),
            reason=sentence,
            reason_code=scored.reason,
        )

    # --- feedback ---------------------------------------------------------------------------------------------

    def not_interested(
        self,
        session: Session,
        customer_external_id: str | None,
        *,
        skus: Sequence[str] = (),
        category: str | None = None,
        channel: str = "chat",
        now: datetime | None = None,
    ) -> bool:
        """Keep these items (and the category, when the customer asked for that) out of their suggestions.

        Returns False for an anonymous or unknown customer (nothing to remember it against)."""
        now = now or utcnow()
        customer_id = customer_pk(session, customer_external_id)
        if customer_id is None:
            return False
        product_ids = store.product_ids_for(session, skus)
        if not product_ids and not category:
            return True
        if product_ids:
            store.add_exclusions(
                session,
                customer_id,
                product_ids=product_ids,
                until=now + timedelta(days=self.config.exclusion_days),
                now=now,
            )
        if category:
            store.add_exclusions(
                session,
                customer_id,
                category=category,
                until=now + timedelta(days=self.config.category_exclusion_days),
                now=now,
            )
        rows = [
            {"customer_id": customer_id, "product_id": pid, "kind": "dismissal", "occurred_at": now, "channel": channel}
            for pid in product_ids
        ]
        if category:
            rows.append(
                {
                    "customer_id": customer_id,
                    "category": category,
                    "kind": "dismissal",
                    "occurred_at": now,
                    "channel": channel,
                }
            )
        store.record_events(session, rows)
        return True

    def record_click(
        self,
        session: Session,
        customer_external_id: str | None,
        sku: str,
        *,
        request_id: str | None = None,
        channel: str = "chat",
        now: datetime | None = None,
    ) -> bool:
        """A suggestion was opened: the event that closes the loop (CTR per strategy, and training signal).

        A click counts only for an impression this customer was shown (of `request_id`, when given), and takes
        its strategy, so reports compare like with like; anything else stores nothing and returns False."""
        customer_id = customer_pk(session, customer_external_id)
        product_ids = store.product_ids_for(session, [sku])
        if customer_id is None or not product_ids:
            return False
        impression = store.impression_of(session, customer_id, product_ids[0], request_id)
        if impression is None:
            return False
        store.record_events(
            session,
            [
                {
                    "customer_id": customer_id,
                    "product_id": product_ids[0],
                    "kind": "click",
                    "occurred_at": now or utcnow(),
                    "channel": channel,
                    "strategy": impression.strategy,
                    "request_id": impression.request_id,
                }
            ],
        )
        return True

    def record_mention(
        self,
        session: Session,
        customer_external_id: str | None,
        sku: str,
        *,
        channel: str = "chat",
        now: datetime | None = None,
    ) -> None:
        """A product named in the chat: interest worth learning from (when the customer consented)."""
        customer_id = customer_pk(session, customer_external_id)
        product_ids = store.product_ids_for(session, [sku])
        if customer_id is not None and product_ids:
            store.record_events(
                session,
                [
                    {
                        "customer_id": customer_id,
                        "product_id": product_ids[0],
                        "kind": "mention",
                        "occurred_at": now or utcnow(),
                        "channel": channel,
                    }
                ],
            )

    def set_consent(
        self, session: Session, customer_external_id: str | None, granted: bool, *, channel: str = "chat"
    ) -> bool:
        """Record the customer's answer; False for an anonymous or unknown customer."""
        customer_id = customer_pk(session, customer_external_id)
        if customer_id is None:
            return False
        store.set_consent(session, customer_id, granted, source=channel)
        return True

    def set_marketing(
        self, session: Session, customer_external_id: str | None, subscribed: bool, *, channel: str = "chat"
    ) -> bool:
        """Record the customer's choice about marketing; False for an anonymous or unknown customer."""
        customer_id = customer_pk(session, customer_external_id)
        if customer_id is None:
            return False
        store.set_marketing(session, customer_id, subscribed, source=channel)
        return True

    # --- next best action -------------------------------------------------------------------------------------

    def offer(
        self,
        session: Session,
        customer_external_id: str | None,
        *,
        solicited: bool = False,
        channel: str = "chat",
        now: datetime | None = None,
    ) -> Offer:
        """The customer's next-best-action (refreshed by `tandem recs segments`), under the same rules as any
        promotion: consent, no open issue, and the frequency cap unless the customer asked for offers."""
        now = now or utcnow()
        customer_id = customer_pk(session, customer_external_id)
        if customer_id is None:
            return Offer("none", "unknown customer", withheld=WITHHELD_NO_CONSENT)
        if self.open_issues.has_open_issue(session, customer_id):
            return Offer("none", "the customer has an open issue", withheld=WITHHELD_OPEN_ISSUE)
        if not store.has_consent(session, customer_id):
            return Offer("none", "no consent to personalization", withheld=WITHHELD_NO_CONSENT)
        if not solicited and (blocked := self._promotion_blocked(session, customer_id, now)):
            return Offer("none", "suggestion limit reached", withheld=blocked)
        planned = store.segment_of(session, customer_external_id)
        if planned is None:
            return Offer("none", "not segmented yet", withheld=WITHHELD_NOTHING_TO_OFFER)
        action, reason = planned.next_best_action, planned.next_best_action_reason
        upsell = None
        if action == "upsell":
            upsell = self.recommend(session, customer_external_id, n=3, solicited=True, channel=channel, now=now)
        if action == "none" or (upsell is not None and not upsell.items):
            return Offer("none", reason, withheld=WITHHELD_NOTHING_TO_OFFER)
        return Offer(action, reason, upsell) if upsell is not None else Offer(action, reason)


@lru_cache(maxsize=1)
def default_engine() -> PersonalizationEngine:
    """The process's engine (one model cache per action server), configured from the environment.

    Scoring is a few small matrix products per request: a multi-threaded BLAS only adds contention with the
    server's other threads (measured: a 64x64 solve takes 0.14 ms on one thread, 2.5 ms on two under load),
    so the process's BLAS pools are limited to one thread.
    """
    from threadpoolctl import threadpool_limits

    from bot.journeys.open_issues import JourneyOpenIssues
    from bot.settings import get_settings

    threadpool_limits(limits=1, user_api="blas")
    return PersonalizationEngine(ModelCache(get_settings().models_dir), open_issues=JourneyOpenIssues())
