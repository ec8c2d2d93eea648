"""The three polarities Tandem reasons about, and mapping any model's labels onto them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

NEGATIVE = "negative"
NEUTRAL = "neutral"
POSITIVE = "positive"
POLARITIES = (NEGATIVE, NEUTRAL, POSITIVE)


class LabelMappingError(ValueError):
    """A model's labels cannot be read as negative / neutral / positive."""


def map_labels(model_labels: Sequence[str], mapping: Mapping[str, str] | None = None) -> dict[int, str]:
    """Index of each model output -> polarity.

    Without `mapping`, the model's own label names must already be polarities (case-insensitive), as for
    Tandem's default model and e.g. cardiffnlp/twitter-roberta-base-sentiment-latest. Models that call
    their outputs LABEL_0.. need a mapping such as {"LABEL_0": "negative", ...}. Several outputs may map
    to one polarity (their probabilities are added); every polarity the model has must be named.
    """
    mapping = {str(k).lower(): str(v).lower() for k, v in (mapping or {}).items()}
    unknown_targets = sorted(set(mapping.values()) - set(POLARITIES))
    if unknown_targets:
        raise LabelMappingError(f"label mapping targets {unknown_targets} are not polarities; use {list(POLARITIES)}")
    stale = sorted(set(mapping) - {label.lower() for label in model_labels})
    if stale:
        raise LabelMappingError(
            f"label mapping names {stale}, which the model does not have; its labels are {list(model_labels)}"
        )
    result: dict[int, str] = {}
    for index, label in enumerate(model_labels):
        polarity = mapping.get(label.lower(), label.lower())
        if polarity not in POLARITIES:
            raise LabelMappingError(
                f"the model's label '{label}' is not negative, neutral or positive; "
                f"map it with the `labels` option, e.g. labels: {{{label}: negative}}"
            )
        result[index] = polarity
    if NEGATIVE not in result.values() or POSITIVE not in result.values():
        raise LabelMappingError(
            f"a sentiment model needs at least a negative and a positive label; got {list(model_labels)}"
        )
    return result
