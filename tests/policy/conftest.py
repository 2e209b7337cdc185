"""Policy tests: one untrained tfv6_small checkpoint (seeded) and its ONNX export per session,
torch on 2 threads (2 shared cores), and an inference cache inside the test's temp area."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

SEED = 7


@pytest.fixture(autouse=True)
def _two_torch_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def small_checkpoint(tmp_path_factory) -> Path:
    from lead.inference.checkpoint import random_model, save_checkpoint

    model = random_model("tfv6_small", SEED)
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tfv6_small.pt", model.cfg, model.state_dict(),
                           seed=SEED, note="untrained, for plumbing tests")


@pytest.fixture(scope="session")
def lead_cache(tmp_path_factory) -> Path:
    """A LEAD_CACHE for node processes; its inference/ folder is `inference_cache`, so an export
    made in this process is found by the nodes without exporting again."""
    return tmp_path_factory.mktemp("lead_cache")


@pytest.fixture(scope="session")
def inference_cache(lead_cache) -> Path:
    d = lead_cache / "inference"
    d.mkdir(exist_ok=True)
    return d
