"""The public sentiment data sets Tandem trains and evaluates on (see ../shared/data/README.md).

The airline tweets are closest to what customers write to a support bot, so the default model is trained
on them; a seeded, stratified split of that file is held out for evaluation, and TweetEval's validation
set checks how well the model carries over to other topics.
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.sentiment.labels import POLARITIES
from bot.settings import PROJECT_ROOT

AIRLINE = "airline_train.csv"
TWEETEVAL = "tweeteval_val.csv"
SST2_TRAIN = "sst2_train.tsv"

_MENTION = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_SPACE = re.compile(r"\s+")


class SentimentDataMissing(FileNotFoundError):
    """The public data sets are not where Tandem looks for them."""


def data_dir() -> Path:
    """`$TANDEM_SENTIMENT_DATA`, else the nearest `shared/data/sentiment` beside the project or above it.

    The workplace keeps its public data sets in `../shared/data`; a checkout one level deeper (as CI
    may make) still finds them.
    """
    configured = os.environ.get("TANDEM_SENTIMENT_DATA")
    if configured:
        return Path(configured)
    for parent in PROJECT_ROOT.parents:
        candidate = parent / "shared" / "data" / "sentiment"
        if candidate.is_dir():
            return candidate
    # The workplace's own location, for a checkout made elsewhere (e.g. under /tmp).
    workplace = Path("/work/shared/data/sentiment")
    return workplace if workplace.is_dir() else PROJECT_ROOT.parent / "shared" / "data" / "sentiment"


def normalize_text(text: str) -> str:
    """Same text form at training and at inference: handles and links carry no sentiment."""
    text = _URL.sub("http", text)
    text = _MENTION.sub("@user", text)
    return _SPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class Example:
    text: str
    label: str


def _path(name: str, directory: Path | None) -> Path:
    path = (directory or data_dir()) / name
    if not path.exists():
        raise SentimentDataMissing(
            f"sentiment data file {path} not found; set TANDEM_SENTIMENT_DATA to the folder holding "
            f"{AIRLINE} and {TWEETEVAL}"
        )
    return path


def _read_csv(path: Path) -> list[Example]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [Example(normalize_text(row["text"]), row["label"].strip().lower()) for row in csv.DictReader(handle)]
    bad = {row.label for row in rows} - set(POLARITIES)
    if bad:
        raise ValueError(f"{path}: unexpected labels {sorted(bad)}")
    return [row for row in rows if row.text]


def load_airline(directory: Path | None = None) -> list[Example]:
    return _read_csv(_path(AIRLINE, directory))


def load_tweeteval(directory: Path | None = None) -> list[Example]:
    return _read_csv(_path(TWEETEVAL, directory))


def load_sst2(directory: Path | None = None) -> list[Example]:
    path = _path(SST2_TRAIN, directory)
    with path.open(encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        return [Example(normalize_text(text), "positive" if label == "1" else "negative") for label, text in reader]


def stratified_split(examples: Sequence[Example], holdout: float, seed: int) -> tuple[list[Example], list[Example]]:
    """(train, held out): the same `seed` always gives the same split, per label."""
    by_label: dict[str, list[Example]] = {}
    for example in examples:
        by_label.setdefault(example.label, []).append(example)
    rng = random.Random(seed)
    train: list[Example] = []
    test: list[Example] = []
    for label in sorted(by_label):
        group = list(by_label[label])
        rng.shuffle(group)
        cut = round(len(group) * holdout)
        test.extend(group[:cut])
        train.extend(group[cut:])
    rng.shuffle(train)
    rng.shuffle(test)
    return train, test


def files_digest(names: Sequence[str], directory: Path | None = None) -> str:
    """Content hash of the data files a model was trained from (part of its cache key)."""
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode())
        digest.update(_path(name, directory).read_bytes())
    return digest.hexdigest()[:16]
