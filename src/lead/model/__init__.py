"""TransFuser v6 (LEAD) in plain torch.nn: config, model, losses, post-processing.

    cfg = load_config("tfv6_small")          # or a path to a YAML file
    model = build_model(cfg)
    out = model(batch)                       # names and shapes: lead.model.tfv6 docstring
    losses = compute_losses(out, targets, cfg)
"""
from lead.model.config import ModelConfig, ModelConfigError, config_from_dict, load_config
from lead.model.losses import compute_losses
from lead.model.tfv6 import TFv6, build_model, input_shapes, output_shapes

__all__ = ["ModelConfig", "ModelConfigError", "TFv6", "build_model", "compute_losses", "config_from_dict",
           "input_shapes", "load_config", "output_shapes"]
