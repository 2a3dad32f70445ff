"""The one place that builds ONNX Runtime sessions.

``providers="auto"`` uses CUDA only when a session confirms it is really active
(``onnxruntime-gpu`` lists CUDA as *available* on machines without a GPU and then
silently runs on CPU); ``"cuda"`` raises :class:`ProviderUnavailableError` instead of
falling back; ``"cpu"`` never touches CUDA.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import numpy as np

from ._errors import (
    ArtifactIntegrityError,
    InvalidInputError,
    MissingDependencyError,
    ProviderUnavailableError,
)

__all__ = ["Providers", "create_session", "default_threads", "import_onnxruntime", "run_session"]

logger = logging.getLogger("fashionrec_sdk")

Providers = Literal["auto", "cpu", "cuda"]

_CPU = "CPUExecutionProvider"
_CUDA = "CUDAExecutionProvider"

INSTALL_HINT = (
    'onnxruntime is not installed. Install the CPU runtime with: pip install "fashionrec-sdk[cpu]" '
    '(or the CUDA runtime with: pip install "fashionrec-sdk[gpu]"; never both)'
)


def import_onnxruntime() -> ModuleType:
    """Import onnxruntime or raise :class:`MissingDependencyError` with the pip command."""
    try:
        import onnxruntime
    except ImportError as err:
        raise MissingDependencyError(INSTALL_HINT, package="onnxruntime") from err
    module: ModuleType = onnxruntime
    return module


def default_threads() -> int:
    """Intra-op threads: ``$FASHIONREC_NUM_THREADS`` or the number of usable cores (max 8)."""
    env = os.environ.get("FASHIONREC_NUM_THREADS")
    if env:
        try:
            value = int(env)
        except ValueError:
            raise InvalidInputError(
                f"FASHIONREC_NUM_THREADS must be an integer, got {env!r}",
                field="FASHIONREC_NUM_THREADS",
            ) from None
        if value < 1:
            raise InvalidInputError(
                "FASHIONREC_NUM_THREADS must be >= 1", field="FASHIONREC_NUM_THREADS"
            )
        return value
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def create_session(
    path: str | Path,
    *,
    providers: Providers = "auto",
    threads: int | None = None,
    model: str | None = None,
) -> Any:
    """Build an ``onnxruntime.InferenceSession`` for ``path``.

    Args:
        path: the ``.onnx`` file (already integrity-checked by the bundle loader).
        providers: ``"auto"`` (CUDA if really active, else CPU), ``"cpu"`` or ``"cuda"``.
        threads: intra-op threads; ``None`` uses :func:`default_threads`.
        model: model name, for error messages.
    """
    if providers not in ("auto", "cpu", "cuda"):
        raise InvalidInputError(
            f"providers must be 'auto', 'cpu' or 'cuda', got {providers!r}", field="providers"
        )
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise InvalidInputError(f"threads must be a positive int, got {threads!r}", field="threads")
    ort = import_onnxruntime()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or default_threads()
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    available = set(ort.get_available_providers())
    label = model or Path(path).stem

    def build(provider_list: list[str]) -> Any:
        try:
            return ort.InferenceSession(str(path), sess_options=opts, providers=provider_list)
        except Exception as err:  # onnxruntime raises its own untyped exception classes
            text = str(err)
            if "CUDA" in text or "cuda" in text:
                raise ProviderUnavailableError(
                    f"model {label!r}: could not start the CUDA provider: {text}",
                    provider="cuda",
                    model=label,
                ) from err
            raise ArtifactIntegrityError(
                f"model {label!r}: onnxruntime could not load {path}: {text}", path=path
            ) from err

    if providers == "cpu":
        return build([_CPU])
    if providers == "cuda":
        if _CUDA not in available:
            raise ProviderUnavailableError(
                f"model {label!r}: providers='cuda' was requested but this onnxruntime build "
                f"offers only {sorted(available)}; install onnxruntime-gpu "
                '(pip install "fashionrec-sdk[gpu]") on a machine with a CUDA GPU, or use '
                "providers='cpu'",
                provider="cuda",
                model=label,
            )
        session = build([_CUDA, _CPU])
        if session.get_providers()[0] != _CUDA:
            raise ProviderUnavailableError(
                f"model {label!r}: CUDA is listed as available but the session runs on "
                f"{session.get_providers()}: no usable GPU or CUDA libraries",
                provider="cuda",
                model=label,
            )
        return session
    # auto
    if _CUDA in available:
        try:
            session = build([_CUDA, _CPU])
        except ProviderUnavailableError as err:
            warnings.warn(f"{err}; falling back to CPU", RuntimeWarning, stacklevel=2)
            return build([_CPU])
        if session.get_providers()[0] == _CUDA:
            return session
        warnings.warn(
            f"model {label!r}: onnxruntime-gpu lists CUDA but it is not active here "
            "(no GPU or CUDA libraries); running on CPU",
            RuntimeWarning,
            stacklevel=2,
        )
        return build([_CPU])
    return build([_CPU])


def run_session(
    session: Any, feeds: dict[str, np.ndarray], outputs: list[str] | None = None, *, model: str
) -> list[np.ndarray]:
    """Run ``session``; onnxruntime's own errors become :class:`InvalidInputError`."""
    try:
        result: list[np.ndarray] = session.run(outputs, feeds)
    except Exception as err:
        shapes = {k: tuple(v.shape) for k, v in feeds.items()}
        raise InvalidInputError(
            f"model {model!r} rejected its inputs {shapes}: {err}", field=model
        ) from err
    return result
