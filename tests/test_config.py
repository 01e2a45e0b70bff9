import pytest

from lego_demo.config import engine_settings, load_config, parse_engine_flag
from lego_demo.errors import BadInput


def test_toml_and_flags(tmp_path, monkeypatch):
    cfg = tmp_path / "lego.toml"
    cfg.write_text('builder = "rule"\n[engines.FILL]\nengine = "diffusers-inpaint"\nmodel = "/m/sd"\nsteps = 20\n')
    monkeypatch.setenv("LEGO_CONFIG", str(cfg))
    data = load_config()
    choice, options = engine_settings(data, ["res=clipseg:/m/clipseg"])
    assert choice == {"FILL": "diffusers-inpaint", "RES": "clipseg"}
    assert options == {"FILL": {"model": "/m/sd", "steps": 20}, "RES": {"model": "/m/clipseg"}}


def test_no_config_means_defaults(monkeypatch):
    monkeypatch.delenv("LEGO_CONFIG", raising=False)
    assert load_config() == {}


@pytest.mark.parametrize("text,match", [("not = [toml", "not valid TOML"), ("[engines]\nFILL = 3\n", "must be tables")])
def test_bad_config_files(tmp_path, text, match):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(BadInput, match=match):
        load_config(cfg)
    with pytest.raises(BadInput, match="no such file"):
        load_config(tmp_path / "missing.toml")


def test_engine_flag_format():
    assert parse_engine_flag("FILL=diffusers") == ("FILL", "diffusers", None)
    assert parse_engine_flag("STYLE=ip2p:/models/ip2p") == ("STYLE", "ip2p", "/models/ip2p")
    with pytest.raises(BadInput, match="BRICK=ENGINE"):
        parse_engine_flag("FILL")


def test_config_file_sets_builder_seed_and_plugins(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    cfg = tmp_path / "lego.toml"
    cfg.write_text(f'seed = 7\nbricks = ["{root / "examples/plugins/bright.py"}"]\n')
    r = subprocess.run([sys.executable, "-m", "lego_demo", "--config", str(cfg), "bricks", "--json"], cwd=root,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "BRIGHT" in {b["name"] for b in json.loads(r.stdout)}
