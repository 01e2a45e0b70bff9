"""The training recipe end to end on CPU: a tiny random Qwen2.5-VL (tests/tiny_models.py) gets
2 SFT steps, then 2 GRPO steps with the real rewards, through the CLI; the adapter it writes is
loaded by the `mllm` Builder with the trained weights in place. No hub access."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lego_demo.builders.base import PlanRequest
from lego_demo.builders.prompt import render_system
from lego_demo.cli import main
from lego_demo.images import load_image
from lego_demo.models import ModelManager

pytest.importorskip("trl")
pytest.importorskip("peft")


@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory, registry) -> Path:
    from tiny_models import qwen_vl

    return qwen_vl(tmp_path_factory.mktemp("tiny-qwen"), texts=render_system(registry).splitlines(),
                   vocab_size=1200, max_positions=16384)


def adapter_weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def test_sft_then_grpo_writes_an_adapter_the_mllm_builder_loads(tiny_qwen, tmp_path, registry):
    import torch

    from lego_demo.builders.mllm import MLLMBuilder

    data = tmp_path / "data" / "train.jsonl"
    assert main(["train", "data", "--n", "4", "--out", str(data), "--open-share", "0.25", "--seed", "1"]) == 0
    sft, grpo = tmp_path / "sft", tmp_path / "grpo"
    assert main(["train", "sft", "--data", str(data), "--model", str(tiny_qwen), "--out", str(sft),
                 "--max-steps", "2", "--grad-accum", "1", "--logging-steps", "1"]) == 0
    # the length budget is tiny so that random completions get different rewards: GRPO then has
    # a non-zero advantage to learn from (every other term is 0 for a random model)
    assert main(["train", "grpo", "--stage", "2", "--data", str(data), "--model", str(sft), "--out", str(grpo),
                 "--max-steps", "2", "--generations", "2", "--batch", "2", "--grad-accum", "1",
                 "--max-completion", "16", "--length-budget", "50", "--lr", "1e-3", "--logging-steps", "1"]) == 0

    sft_record = json.loads((sft / "lego_train.json").read_text())
    grpo_record = json.loads((grpo / "lego_train.json").read_text())
    assert (sft_record["stage"], sft_record["steps"], sft_record["rows"]) == (1, 2, 3)
    assert (grpo_record["stage"], grpo_record["steps"], grpo_record["rows"]) == (2, 2, 3)
    logged = grpo_record["last_logs"][0]
    assert {"rewards/format/mean", "rewards/validity/mean", "rewards/executable/mean", "rewards/target/mean",
            "rewards/length/mean"} <= set(logged)
    assert any(e.get("rewards/length/std", 0) > 0 for e in grpo_record["last_logs"])
    for folder in (sft, grpo):  # the adapter names the tiny base, wherever it is loaded from
        assert json.loads((folder / "adapter_config.json").read_text())["base_model_name_or_path"] == str(tiny_qwen)

    sft_weights, grpo_weights = adapter_weights(sft), adapter_weights(grpo)
    assert sft_weights.keys() == grpo_weights.keys() and len(sft_weights) == 2 * 7 * 2  # 2 layers × 7 linears × A, B
    assert all("language_model" in k for k in sft_weights)  # the vision tower is left alone
    assert any(v.abs().sum() > 0 for k, v in sft_weights.items() if "lora_B" in k)  # SFT moved B off its zero init
    assert any(not torch.equal(sft_weights[k], grpo_weights[k]) for k in sft_weights)  # GRPO trained it further

    manager = ModelManager()
    builder = MLLMBuilder(registry, model=str(grpo), quant="none", device="cpu", manager=manager,
                          max_new_tokens=8, max_retries=0)
    row = json.loads(data.read_text().splitlines()[0])
    plan = builder.plan(PlanRequest(row["instruction"], image=load_image(data.parent / row["image"])))
    assert not plan.ok and "no JSON object found" in plan.declined  # random weights write no workflow
    model, processor = manager.get(builder._key(), lambda: pytest.fail("loaded twice"))
    assert hasattr(processor, "image_processor")  # a real processor, not the bare tokenizer
    params = dict(model.named_parameters())
    for key, saved in grpo_weights.items():  # base_model.model.X.lora_A.weight -> X.lora_A.default.weight
        name = key.removeprefix("base_model.model.").replace(".weight", ".default.weight")
        assert torch.equal(params[name].detach().cpu(), saved), name


def test_stages_refuse_data_without_their_rows(tmp_path, capsys):
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"instruction": "make it snowy", "image": "x.png", "workflow": None}) + "\n")
    assert main(["train", "sft", "--data", str(rows), "--model", "unused", "--out", str(tmp_path / "o")]) == 2
    assert "rows with a target workflow" in capsys.readouterr().err
    assert main(["train", "grpo", "--stage", "2", "--data", str(rows), "--model", "unused",
                 "--out", str(tmp_path / "o")]) == 2
    assert "stage 2 trains on rows with a target workflow" in capsys.readouterr().err
    assert main(["train", "sft", "--data", str(tmp_path / "missing.jsonl"), "--model", "x", "--out", "o"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_qlora_step_on_a_4bit_base(tiny_qwen, tmp_path):
    pytest.importorskip("bitsandbytes")
    data = tmp_path / "train.jsonl"
    assert main(["train", "data", "--n", "2", "--out", str(data), "--open-share", "0", "--seed", "2"]) == 0
    out = tmp_path / "qlora"
    assert main(["train", "sft", "--data", str(data), "--model", str(tiny_qwen), "--out", str(out), "--qlora",
                 "--max-steps", "1", "--grad-accum", "1"]) == 0
    record = json.loads((out / "lego_train.json").read_text())
    assert record["settings"]["qlora"] and record["steps"] == 1
    assert len(adapter_weights(out)) == 2 * 7 * 2


def test_a_missing_model_directory_is_named(tmp_path, capsys):
    data = tmp_path / "train.jsonl"
    assert main(["train", "data", "--n", "1", "--out", str(data), "--open-share", "0"]) == 0
    assert main(["train", "sft", "--data", str(data), "--model", str(tmp_path / "no-such-model"),
                 "--out", str(tmp_path / "o")]) == 2
    assert "neither a directory nor a hub id" in capsys.readouterr().err
