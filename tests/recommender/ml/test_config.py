"""load_config: config.toml is the one source of default values; files and keyword overrides layer on top."""

import dataclasses
import tomllib

import pytest

from recommender.ml import config as config_module
from recommender.ml.config import DEFAULT_CONFIG, TrainConfig, load_config


def test_the_defaults_are_config_toml_and_the_dataclass_writes_none():
    with open(DEFAULT_CONFIG, "rb") as f:
        assert dataclasses.asdict(load_config()) == tomllib.load(f)
    assert [f.name for f in dataclasses.fields(TrainConfig) if f.default is not dataclasses.MISSING] == []


def test_a_field_missing_from_config_toml_is_an_error_at_load(tmp_path, monkeypatch):
    text = DEFAULT_CONFIG.read_text()
    partial = tmp_path / "config.toml"
    partial.write_text("\n".join(line for line in text.splitlines() if not line.startswith(("seed ", "threads "))))
    monkeypatch.setattr(config_module, "DEFAULT_CONFIG", partial)
    with pytest.raises(ValueError, match="lacks default values for: seed, threads"):
        load_config()
    with pytest.raises(ValueError, match="lacks default values for: seed, threads"):
        load_config(seed=1, threads=1)  # overrides do not make up for an incomplete defaults file


def test_a_file_then_overrides_replace_some_defaults(tmp_path):
    (tmp_path / "c.toml").write_text("batch_size = 64\nseed = 7\n")
    config = load_config(tmp_path / "c.toml", seed=3, epochs=None)
    assert (config.batch_size, config.seed, config.epochs) == (64, 3, load_config().epochs)


def test_config_rejects_unknown_keys(tmp_path):
    (tmp_path / "c.toml").write_text("batch_size = 32\nnope = 1\n")
    with pytest.raises(ValueError, match="unknown config keys: nope"):
        load_config(tmp_path / "c.toml")
    with pytest.raises(ValueError, match="unknown config keys: nope"):
        load_config(nope=1)


def test_config_rejects_negative_counts():
    with pytest.raises(ValueError, match="step_targets"):
        load_config(step_targets=-1)
    with pytest.raises(ValueError, match="lazy_user_ids_from"):
        load_config(lazy_user_ids_from=-1)
