"""Running TFv6: checkpoints, export (ONNX, TensorRT), runtimes, the policy's safety rules and
the sensor agent's target points.

    from lead.inference.runtime import open_runtime            # torch | onnxruntime | tensorrt
    from lead.inference.policy import Policy                   # inputs -> plan (+ emergency brake)
    from lead.inference.route_planner import TargetPointSource # GPS plan -> target points, command
    from lead.inference.checkpoint import load_checkpoint, save_checkpoint

Modules import torch / onnxruntime / tensorrt only where they need them; TensorRT only in
lead.inference.tensorrt_backend, when that backend is asked for.
"""
