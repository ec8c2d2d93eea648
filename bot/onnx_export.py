"""Exporting a Hugging Face model to ONNX with torch's TorchScript-based exporter, on purpose.

torch 2.9+ defaults to the torch.export-based exporter, which needs onnxscript (not in the lock) and does not
yet export these models with dynamic batch and sequence axes; the TorchScript one does, and says it is
deprecated every time. The warning is silenced here, for this call only, so that nothing else is hidden.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

LEGACY_EXPORT_WARNING = r"You are using the legacy TorchScript-based ONNX export"


def trace_to_onnx(
    torch: Any,
    model: Any,
    inputs: tuple[Any, ...],
    path: Path,
    *,
    input_names: list[str],
    output_names: list[str],
    dynamic_axes: dict[str, dict[int, str]],
) -> None:
    """`model(*inputs)` traced to `path` (opset 17), the named axes left dynamic."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=LEGACY_EXPORT_WARNING, category=DeprecationWarning)
        torch.onnx.export(
            model,
            inputs,
            str(path),
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=dynamic_axes,
            opset_version=17,
            dynamo=False,
        )
