"""One weights hash: the identity of a model's (or an input's) numbers in every cache of the kit.

:func:`weights_hash` keys the feature caches (``models.features``, ``ClipModel.weights_hash``), the
grid caches (``experiments.grid_cache``) and the checkpoints of a distributed EMAP run
(``analysis.distributed``). It hashes every tensor by name, dtype, shape and bytes, and refuses
what it cannot hash, so two different models never share an identity by accident.
"""

from __future__ import annotations

import hashlib
import sys
import types
from collections.abc import Mapping
from typing import Any

import numpy as np

from grounding_kit.core.validation import describe

#: hex digits of a hash (64 bits)
HASH_DIGITS = 16
_SCALARS = (str, int, float, bool, bytes, type(None), np.integer, np.floating, np.bool_)
_UNHASHABLE = (type, types.FunctionType, types.LambdaType, types.MethodType, types.BuiltinFunctionType, types.ModuleType)


def _is_torch(value: Any, name: str) -> bool:
    """Whether ``value`` is a torch ``name`` ("Tensor" or "nn.Module"), without importing torch."""
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    return isinstance(value, torch.Tensor if name == "Tensor" else torch.nn.Module)


def _feed(value: Any, digest: Any, path: str, seen: set[int]) -> None:
    if isinstance(value, _SCALARS):
        digest.update(f"{type(value).__name__}:{value!r};".encode())
        return
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "O":
            raise TypeError(f"weights_hash cannot hash {path}: an object array ({describe(value)})")
        digest.update(f"ndarray{value.dtype.str}{value.shape};".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
        return
    if _is_torch(value, "Tensor"):
        tensor = value.detach().cpu().contiguous()
        digest.update(f"tensor{tensor.dtype}{tuple(tensor.shape)};".encode())
        digest.update(tensor.reshape(-1).view(sys.modules["torch"].uint8).numpy().tobytes())
        return
    if id(value) in seen:
        raise TypeError(f"weights_hash cannot hash {path}: it contains itself")
    seen = seen | {id(value)}
    if _is_torch(value, "nn.Module"):
        tensors = dict(value.state_dict())
        tensors.update(dict(value.named_buffers()))  # non-persistent buffers too
        digest.update(f"module:{type(value).__module__}.{type(value).__qualname__};".encode())
        for key in sorted(tensors):
            digest.update(f"{key}=".encode())
            _feed(tensors[key], digest, f"{path}.{key}", seen)
        return
    if isinstance(value, Mapping):
        digest.update(f"mapping{len(value)};".encode())
        for key in sorted(value, key=repr):
            if not isinstance(key, _SCALARS):
                raise TypeError(f"weights_hash cannot hash {path}: key {key!r} is a {type(key).__name__}")
            digest.update(f"{key!r}=".encode())
            _feed(value[key], digest, f"{path}[{key!r}]", seen)
        return
    if isinstance(value, (list, tuple)):
        digest.update(f"{type(value).__name__}{len(value)};".encode())
        for i, item in enumerate(value):
            _feed(item, digest, f"{path}[{i}]", seen)
        return
    if isinstance(value, _UNHASHABLE) or not hasattr(value, "__dict__"):
        raise TypeError(f"weights_hash cannot hash {path}, a {type(value).__name__}: it hashes tensors, arrays, "
                        "nn.Modules, state dicts, numbers and strings, and objects whose attributes are those. "
                        "Wrap the weights in a torch.nn.Module")
    digest.update(f"object:{type(value).__module__}.{type(value).__qualname__};".encode())
    _feed(dict(vars(value)), digest, path, seen)


def weights_hash(obj: Any) -> str:
    """A SHA-256 prefix (16 hex digits) of the numbers in ``obj``: the identity of a model or an input.

    Parameters
    ----------
    obj : a ``torch.nn.Module`` (every parameter and buffer, persistent or not, by name, dtype, shape
        and bytes, and the module's class), a state dict or other mapping, a tensor, a numpy array,
        a list or tuple of these, numbers and strings, or an object whose attributes are these (a
        kit pair-model wrapper: its ``.module`` and its settings).

    Returns
    -------
    str of 16 hex digits; equal for equal numbers, different (up to SHA-256 collisions) when any
    weight, dtype, shape or name differs.

    Raises
    ------
    TypeError
        ``obj`` holds something it cannot hash (a function, a lambda, a module object, an object
        array, ...): refused rather than hashed by its type name, which would give two different
        models one identity.
    """
    digest = hashlib.sha256()
    _feed(obj, digest, "obj", set())
    return digest.hexdigest()[:HASH_DIGITS]
