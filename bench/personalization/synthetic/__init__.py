"""A synthetic shop whose structure is known, so that offline evaluation can check what recommenders recover.

Real data tells us how good a recommender is, not why; here every regularity was planted on purpose, and a
benchmark on it can cite this list. `generate_shop(seed=...)` is reproducible per seed and fully vectorised
(100,000 customers x 10,000 products, about 1.1 M events, in about 2 s).

Catalog (`n_products`, sorted by category):
- products in the shop's categories (`CATEGORY_NAMES`) in fixed shares: accessories most (phone accessories
  28 %, chargers and cables 20 %, laptop accessories 16 %), headphones 10 %, devices 20 %, plans 6 %;
- devices (`DEVICE_CATEGORIES`) belong to a family of their category (`DEVICE_FAMILIES`) and carry its brand;
- phone accessories, chargers/cables and laptop accessories `fit` one (70 %) or two phone/laptop families;
  15 %, 50 % and 45 % of them respectively fit everything (empty `fits`), as do headphones and plans;
- a brand of the category (`CATEGORY_BRANDS`), a log-normal price around the category's median (price band =
  the price's tertile within its category), one of `n_tastes` styles, and a text: the name, three words of
  the category's vocabulary, the brand, three words of the style's vocabulary and, for 15 %, one stray word
  of another style;
- Zipf-like base popularity: 1 / rank^0.9 over a random order.

Customers (`n_customers`, ids "SYN-000001"...):
- a taste cluster t (uneven sizes) that sets an affinity over categories (Dirichlet, tilted per customer),
  over brands (log-normal), a preferred price band, and style t: products of style t are 12x as attractive;
- one owned phone family, drawn by the taste's brand affinity, and for 45 % a laptop family likewise;
- a signup time uniform over the two years before `now`; activity starts at max(signup, now - days);
- churn ground truth: about 30 % churn at a uniform time between their first activity and four weeks before
  `now`; their activity decays linearly to 10 % over the six weeks before `churn_at` and stops there. The
  others stay active at a constant rate until `now`.

Events over the last `days` days, a Poisson process per customer (rate log-normal, about 15 a year):
- views: a category by the customer's affinity, then an item of it by popularity x brand affinity x
  price-band fit x style match x compatibility (accessories fitting none of their families x0.05,
  phones/laptops of a family they do not own x0.3);
- purchases (about 1 in 6 views): a view converts with a per-category probability (accessories and plans more
  often than devices), 2x for the customer's style, never for an accessory that fits none of their families
  nor for a phone/laptop of a family they do not own (they upgrade within their family); minutes to days after
  the view; for 15 % of purchases the view is dropped (bought directly);
- returns: 4 % of purchases, 2-30 days later; ratings: 30 % of kept purchases, 1-21 days later, 1-5 stars
  centred one star higher for the customer's style. Nothing happens after a churned customer's `churn_at`.
"""

from bench.personalization.synthetic.events import SyntheticEvents, ViewModel
from bench.personalization.synthetic.parameters import DAY, DEFAULT_NOW
from bench.personalization.synthetic.shop import SyntheticShop, generate_shop

__all__ = ["DAY", "DEFAULT_NOW", "SyntheticEvents", "SyntheticShop", "ViewModel", "generate_shop"]
