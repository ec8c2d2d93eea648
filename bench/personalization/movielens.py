"""MovieLens as recommender training data: a public yardstick beside the synthetic and the real shop.

Ratings become implicit feedback the same way shop ratings do (`rating_weight`: 1-2 stars are no signal and
are dropped), so the recommenders are evaluated on MovieLens exactly as they run on the shop. Files from the
internet are not trusted: a malformed line is skipped and counted, never fatal.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.personalization.training_data import Interactions, ItemCatalog, rating_weight

log = logging.getLogger(__name__)

RATINGS_HEADER = ("userId", "movieId", "rating", "timestamp")


@dataclass(frozen=True)
class RatingsRead:
    """What `load_ratings` read: the interactions, lines skipped as malformed, ratings dropped as no signal."""

    interactions: Interactions
    skipped: int
    dropped: int


def load_ratings(path: str | Path) -> RatingsRead:
    """Read `ratings.csv` (userId,movieId,rating,timestamp with a header line), counting what was left out."""
    users: list[int] = []
    items: list[int] = []
    ratings: list[float] = []
    stamps: list[int] = []
    skipped = 0
    with open(path, encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines):
            if not line.strip():
                continue
            fields = line.strip().split(",")
            if number == 0 and tuple(f.strip() for f in fields) == RATINGS_HEADER:
                continue
            try:
                user, item, rating, stamp = int(fields[0]), int(fields[1]), float(fields[2]), int(fields[3])
            except (ValueError, IndexError):
                skipped += 1
                continue
            if len(fields) != 4 or not 0.0 <= rating <= 5.0:
                skipped += 1
                continue
            users.append(user)
            items.append(item)
            ratings.append(rating)
            stamps.append(stamp)
    rating_arr = np.array(ratings, dtype=np.float64)
    levels, level_of = np.unique(rating_arr, return_inverse=True)
    weights = np.array([rating_weight(v) for v in levels], dtype=np.float32)[level_of]
    keep = weights > 0
    user_ids, user_index = np.unique(np.array(users, dtype=np.int64)[keep], return_inverse=True)
    item_ids, item_index = np.unique(np.array(items, dtype=np.int64)[keep], return_inverse=True)
    interactions = Interactions(
        user_ids=np.array([str(u) for u in user_ids], dtype=object),
        item_ids=np.array([str(i) for i in item_ids], dtype=object),
        users=user_index.astype(np.int32),
        items=item_index.astype(np.int32),
        weights=weights[keep],
        timestamps=np.array(stamps, dtype=np.int64)[keep],
    )
    return RatingsRead(interactions, skipped=skipped, dropped=int((~keep).sum()))


def read_ratings(path: str | Path) -> Interactions:
    """`ratings.csv` as interactions (ids as strings, index order = ascending numeric id); logs what was skipped."""
    result = load_ratings(path)
    if result.skipped:
        log.warning("%s: skipped %d malformed lines", path, result.skipped)
    log.info("%s: %d ratings kept, %d of 1-2 stars dropped", path, result.interactions.n_events, result.dropped)
    return result.interactions


def read_catalog(movies_csv: str | Path | None, item_ids: Sequence[str] | np.ndarray) -> ItemCatalog:
    """An `ItemCatalog` aligned with `item_ids`: title + genres as text, the first genre as category.

    Movies missing from `movies.csv` (or all of them, when the file is missing) get a placeholder: name
    "movie <id>", no text, category "unknown". Movies have no brand, price or device family.
    """
    known: dict[str, tuple[str, list[str]]] = {}
    skipped = 0
    if movies_csv is not None and Path(movies_csv).is_file():
        with open(movies_csv, encoding="utf-8", errors="replace", newline="") as handle:
            rows = csv.reader(handle)
            number = -1
            while True:
                number += 1
                try:
                    row = next(rows)
                except StopIteration:
                    break
                except csv.Error:  # e.g. a field over csv's size limit: skip the line, keep reading
                    skipped += 1
                    continue
                if (number == 0 and row[:1] == ["movieId"]) or not row:
                    continue
                if len(row) != 3 or not row[0].strip().isdigit():
                    skipped += 1
                    continue
                genres = [g for g in row[2].split("|") if g and g != "(no genres listed)"]
                known[row[0].strip()] = (row[1].strip(), genres)
        if skipped:
            log.warning("%s: skipped %d malformed lines", movies_csv, skipped)
    elif movies_csv is not None:
        log.warning("%s not found: movies get placeholder names and no text", movies_csv)
    ids = [str(i) for i in item_ids]
    names, categories, texts = [], [], []
    for movie in ids:
        title, genres = known.get(movie, (f"movie {movie}", []))
        names.append(title)
        categories.append(genres[0].lower() if genres else "unknown")
        texts.append(" ".join([title, *genres]) if movie in known else "")
    n = len(ids)
    return ItemCatalog(
        item_ids=np.array(ids, dtype=object),
        names=np.array(names, dtype=object),
        categories=np.array(categories, dtype=object),
        brands=np.full(n, "", dtype=object),
        prices=np.zeros(n, dtype=np.float64),
        text=np.array(texts, dtype=object),
        family=np.full(n, None, dtype=object),
        fits=tuple(frozenset() for _ in range(n)),
        active=np.ones(n, dtype=bool),
    )
