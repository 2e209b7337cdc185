"""Config loading: the shipped YAMLs carry LEAD's numbers; bad files fail naming file and key."""
from __future__ import annotations

import pytest

from lead.model.config import CONFIG_DIR, ModelConfigError, config_from_dict, load_config


def test_full_config_has_leads_shape():
    c = load_config("tfv6_full")
    assert (c.image_height, c.image_width) == (384, 1152)
    assert (c.lidar_height_pixel, c.lidar_width_pixel) == (320, 384)  # y rows, x cols at 4 px/m
    assert (c.bev.min_x, c.bev.max_x, c.bev.min_y, c.bev.max_y) == (-32, 64, -40, 40)
    assert c.bev_grid_size == (80, 96) and c.bev_cell_m == 1.0
    assert (c.fusion.layers, c.fusion.heads, c.fusion.expansion, c.fusion.attn_dropout) == (2, 4, 4, 0.1)
    assert (c.planning.layers, c.planning.heads, c.planning.token_dim) == (6, 8, 256)
    assert (c.radar.queries, c.radar.layers, c.radar.heads, c.radar.token_dim) == (20, 4, 8, 256)
    assert c.num_radar_points == 300 and c.lidar.steps == 10
    assert c.planning.target_speeds == pytest.approx((0, 4, 8, 10, 13.8889, 16, 17.7778, 20), abs=1e-3)
    assert (c.boxes.max_boxes, c.boxes.dir_bins, c.boxes.confidence, c.boxes.nms_iou) == (90, 12, 0.3, 0.2)


def test_small_config_is_smaller_with_the_same_heads():
    s, f = load_config("tfv6_small"), load_config("tfv6_full")
    assert s.image_width * s.image_height < f.image_width * f.image_height
    assert s.lidar_width_pixel < f.lidar_width_pixel
    for name in ("planning", "radar", "boxes", "bev_semantic"):
        assert getattr(s, name).enabled == getattr(f, name).enabled
    assert (s.perspective.semantic, s.perspective.depth) == (f.perspective.semantic, f.perspective.depth)


def test_round_trip_through_a_plain_dict():
    c = load_config(CONFIG_DIR / "tfv6_small.yaml")
    assert config_from_dict(c.to_dict(), source="roundtrip") == c


@pytest.mark.parametrize("text, key", [
    ("planning: {tokens: 3}\n", "planning.tokens"),
    ("radar: {queries: many}\n", "radar.queries"),
    ("lidar: {enabled: 1}\n", "lidar.enabled"),
    ("camera: {height: 100}\n", "camera.height"),
    ("image_encoder: {arch: vgg16}\n", "image_encoder.arch"),
    ("bev: {pixels_per_meter: 2.5}\n", "bev.max_x"),
    ("planning: {heads: 7}\n", "planning.heads"),
    ("planning: {target_speeds: [4.0, 0.0]}\n", "planning.target_speeds"),
    ("loss_weights: {depth: -1}\n", "loss_weights.depth"),
    ("boxes: 3\n", "boxes"),
])
def test_bad_config_names_file_and_key(tmp_path, text, key):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ModelConfigError) as e:
        load_config(p)
    assert str(p) in str(e.value) and f"'{key}'" in str(e.value)


def test_invalid_yaml_and_missing_file(tmp_path):
    p = tmp_path / "broken.yaml"
    p.write_text("camera: [1, 2\n")
    with pytest.raises(ModelConfigError, match="broken.yaml: not valid YAML"):
        load_config(p)
    with pytest.raises(ModelConfigError, match="no such model config"):
        load_config("tfv6_nonexistent")


def test_a_variant_states_only_what_it_changes():
    v, s = load_config("tfv6_small_nospeed"), load_config("tfv6_small")
    assert v.name == "tfv6_small_nospeed" and not v.ego.speed_input and s.ego.speed_input
    # the rest comes from the base (that a section merges key by key, not wholesale, is
    # checked below: tfv6_small's `ego` equals the defaults, so it cannot show it here)
    assert (v.ego.max_speed, v.ego.num_commands, v.ego.target_point_norm) == \
        (s.ego.max_speed, s.ego.num_commands, s.ego.target_point_norm)
    assert v.camera == s.camera and v.planning == s.planning and v.bev == s.bev


def test_base_relative_to_the_file_and_its_errors(tmp_path):
    (tmp_path / "a.yaml").write_text("base: tfv6_small\nplanning: {layers: 2}\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\nplanning: {heads: 4}\n")
    b = load_config(tmp_path / "b.yaml")
    assert (b.planning.layers, b.planning.heads, b.camera.width) == (2, 4, 128)
    (tmp_path / "loop.yaml").write_text("base: loop.yaml\n")
    with pytest.raises(ModelConfigError, match="loop.yaml: 'base' goes round in a circle"):
        load_config(tmp_path / "loop.yaml")
    (tmp_path / "missing.yaml").write_text("base: tfv6_nonexistent\n")
    with pytest.raises(ModelConfigError, match="missing.yaml: key 'base': no such model config"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(ModelConfigError, match="list.yaml: expected a mapping"):
        load_config(tmp_path / "list.yaml")
