"""A broken cs-mcp.yaml is refused with a message naming the setting: by load_settings and by `cs-mcp serve`."""

import subprocess
import sys
from pathlib import Path

import pytest

from cs_mcp.config import ConfigError, load_settings

ZERO_USAGE_POINTS = "{seat_utilization: 0, logins_per_user_week: 0, feature_adoption: 0}"
ALL_DIMENSIONS_ZERO = "\n".join(
    f"        {d}: {{weight: 0}}" for d in ("usage", "engagement", "support", "satisfaction", "financial")
)

# (case id, cs-mcp.yaml text, text the refusal must contain: the setting's key, and what is wrong)
BROKEN = [
    ("invalid-yaml", "health:\n  model: [default\n", ["not valid YAML"]),
    ("unknown-key", "health:\n  modle: default\n", ["health.modle", "Extra inputs are not permitted"]),
    ("unknown-top-level-key", "helth: {}\n", ["helth"]),
    ("negative-dimension-weight",
     "health:\n  models:\n    default:\n      dimensions:\n        usage: {weight: -5}\n",
     ["health.models.default.dimensions.usage.weight", "greater than or equal to 0"]),
    ("negative-metric-points",
     "health:\n  models:\n    default:\n      dimensions:\n        usage:\n          metrics: {seat_utilization: -1}\n",
     ["health.models.default.dimensions.usage.metrics", "seat_utilization", "0 or more"]),
    ("dimension-weights-sum-to-zero",
     f"health:\n  models:\n    default:\n      dimensions:\n{ALL_DIMENSIONS_ZERO}\n",
     ["health.models.default.dimensions", "dimension weights add up to 0"]),
    ("metric-points-sum-to-zero",
     f"health:\n  models:\n    default:\n      dimensions:\n        usage:\n          metrics: {ZERO_USAGE_POINTS}\n",
     ["health.models.default.dimensions.usage.metrics", "metric points of a dimension add up to 0"]),
    ("segment-weights-sum-to-zero",
     "health:\n  models:\n    operations:\n      segment_weights:\n"
     "        smb: {usage: 0, engagement: 0, sentiment: 0, financial: 0}\n",
     ["health.models.operations", "segment_weights.smb", "add up to 0"]),
    ("segment-weights-unknown-dimension",
     "health:\n  models:\n    operations:\n      segment_weights:\n        smb: {usgae: 40}\n",
     ["segment_weights.smb", "usgae"]),
    ("engagement-weights-sum-to-zero",
     "engagement:\n  weights: {frequency: 0, quality: 0, breadth: 0, product: 0}\n",
     ["engagement.weights", "add up to 0"]),
    ("engagement-component-points-sum-to-zero",
     "engagement:\n  components:\n    product: {logins_per_user_week: 0, feature_adoption: 0}\n",
     ["engagement.components", "component product add up to 0"]),
    ("expansion-weights-sum-to-zero",
     "expansion:\n  weights: {health: 0, adoption: 0, growth: 0, engagement: 0, budget: 0}\n",
     ["expansion.weights", "propensity weights add up to 0"]),
    ("expansion-weight-negative", "expansion:\n  weights: {budget: -0.1}\n", ["expansion.weights", "budget"]),
]


def workspace_with_config(root: Path, yaml_text: str) -> Path:
    root.mkdir()
    (root / "accounts.csv").write_text("account_id,name,arr\nA-1,Acme,1000\n")
    (root / "cs-mcp.yaml").write_text(yaml_text)
    return root


@pytest.mark.parametrize(("case", "yaml_text", "expected"), BROKEN, ids=[c[0] for c in BROKEN])
def test_load_settings_refuses_a_broken_config_naming_the_setting(tmp_path, case, yaml_text, expected):
    ws = workspace_with_config(tmp_path / "ws", yaml_text)
    with pytest.raises(ConfigError) as refused:
        load_settings(ws)
    message = str(refused.value)
    assert str(ws / "cs-mcp.yaml") in message
    for fragment in expected:
        assert fragment in message


@pytest.mark.e2e
@pytest.mark.parametrize(("case", "yaml_text", "expected"), BROKEN, ids=[c[0] for c in BROKEN])
def test_serve_exits_2_with_a_message_for_a_broken_config(tmp_path, case, yaml_text, expected):
    ws = workspace_with_config(tmp_path / "ws", yaml_text)
    proc = subprocess.run(
        [sys.executable, "-m", "cs_mcp", "serve", "--data", str(ws)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""  # stdout is the protocol: the refusal goes to stderr
    assert proc.stderr.startswith("cs-mcp: ")
    assert "Traceback" not in proc.stderr
    for fragment in expected:
        assert fragment in proc.stderr


def test_zero_weights_on_some_dimensions_still_load(tmp_path):
    ws = workspace_with_config(
        tmp_path / "ws",
        "health:\n  models:\n    default:\n      dimensions:\n"
        "        usage: {weight: 0}\n        support: {weight: 0}\n",
    )
    settings = load_settings(ws)
    dims = settings.health.models["default"].dimensions
    assert dims["usage"].weight == 0 and dims["engagement"].weight == 25


def test_the_shipped_defaults_and_presets_pass_the_weight_checks():
    settings = load_settings(overrides={"health": {"model": "operations"}})
    assert settings.health.active.segment_weights["smb"]["usage"] == 40
    assert sum(settings.expansion.weights.values()) == pytest.approx(1.0)
    assert sum(settings.engagement.weights.values()) == 100
