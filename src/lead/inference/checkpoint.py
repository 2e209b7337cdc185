"""TFv6 checkpoints: model config + weights in one file, as the trainer writes them.

Format written by `save_checkpoint` (and expected from lead.training):

    torch.save({"format": "lead-tfv6", "version": 1,
                "config": ModelConfig.to_dict(),        # the full, validated model config
                "model": model.state_dict(),            # plain TFv6 keys (no DDP / compile prefixes)
                "meta": {...}}, path)                   # free-form: epoch, step, seed, git rev ...

`load_checkpoint` also reads what trainers commonly write instead, so a checkpoint from a
DDP or torch.compile run, or LEAD's layout (`model_0030.pth` beside `config.json`/`config.yaml`),
loads without conversion:
- the weights under "model", "state_dict" or "model_state_dict", or the file is the state dict;
- the config under "config" (a mapping) or in a sibling config.yaml / config.json / model.yaml;
- key prefixes "module." (DDP) and "_orig_mod." (torch.compile) are stripped.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from lead.model.config import ModelConfig, ModelConfigError, config_from_dict, load_config

FORMAT = "lead-tfv6"
VERSION = 1
WEIGHT_KEYS = ("model", "state_dict", "model_state_dict")
SIBLING_CONFIGS = ("config.yaml", "config.json", "model.yaml")
PREFIXES = ("module.", "_orig_mod.")


class CheckpointError(ValueError):
    pass


def save_checkpoint(path: str | Path, config: ModelConfig, state_dict: dict, **meta: Any) -> Path:
    """Write a checkpoint in the format above (atomically: a partial file never has the name)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, "version": VERSION, "config": config.to_dict(),
                "model": {k: v.detach().cpu() for k, v in state_dict.items()}, "meta": meta}, tmp)
    tmp.replace(path)
    return path


def _strip(state: dict) -> dict:
    out = {}
    for k, v in state.items():
        for p in PREFIXES:
            while k.startswith(p):
                k = k[len(p):]
        out[k] = v
    return out


def _sibling_config(path: Path) -> ModelConfig | None:
    for name in SIBLING_CONFIGS:
        p = path.parent / name
        if p.exists():
            if p.suffix == ".json":
                return config_from_dict(json.loads(p.read_text()), source=str(p))
            return load_config(p)
    return None


def load_checkpoint(path: str | Path) -> tuple[ModelConfig, dict]:
    """(model config, state dict on the CPU) of a checkpoint file; CheckpointError names the
    file and what is missing."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for a file that is no checkpoint
        raise CheckpointError(f"{path}: not a torch checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a mapping, got {type(obj).__name__}")
    if obj.get("format") not in (None, FORMAT):
        raise CheckpointError(f"{path}: format {obj.get('format')!r} is not {FORMAT!r}")
    if obj.get("format") == FORMAT and int(obj.get("version", 0)) > VERSION:
        raise CheckpointError(f"{path}: checkpoint version {obj['version']} is newer than this reader ({VERSION})")
    state = next((obj[k] for k in WEIGHT_KEYS if isinstance(obj.get(k), dict)), None)
    if state is None:
        if obj and all(hasattr(v, "shape") for v in obj.values()):
            state = obj  # the file is the state dict itself
        else:
            raise CheckpointError(f"{path}: no weights (expected one of the keys {', '.join(WEIGHT_KEYS)})")
    cfg_data = obj.get("config")
    try:
        if isinstance(cfg_data, dict):
            cfg = config_from_dict(cfg_data, source=f"{path}[config]")
        else:
            cfg = _sibling_config(path)
    except ModelConfigError as e:
        raise CheckpointError(str(e)) from None
    if cfg is None:
        raise CheckpointError(f"{path}: no model config (neither a 'config' entry nor a sibling "
                              f"{' / '.join(SIBLING_CONFIGS)})")
    return cfg, _strip(state)


def load_model(path: str | Path, device: str = "cpu"):
    """The TFv6 of a checkpoint, weights loaded strictly, in eval mode on `device`."""
    from lead.model import build_model

    cfg, state = load_checkpoint(path)
    model = build_model(cfg)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CheckpointError(f"{path}: weights do not fit config '{cfg.name}': "
                              f"{len(missing)} missing (e.g. {missing[:3]}), {len(unexpected)} unexpected "
                              f"(e.g. {unexpected[:3]})")
    return model.to(device).eval()


def random_model(config: str | Path | ModelConfig, seed: int = 0):
    """An untrained TFv6 with seeded weights (plumbing tests, benchmarks), in eval mode."""
    import torch

    from lead.model import build_model

    cfg = config if isinstance(config, ModelConfig) else load_config(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(cfg)
    return model.eval()


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
