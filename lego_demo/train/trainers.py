"""Stage 1 (`train sft`, TRL SFTTrainer) and stages 2–3 (`train grpo`, TRL GRPOTrainer) on a
Qwen2.5-VL-family Builder, with LoRA (or QLoRA: a 4-bit NF4 base) adapters.

The model named by --model is a base (hub id or directory: a new LoRA adapter is trained) or an
adapter directory written by an earlier stage (its adapter is trained further on its base), so
the schedule chains: sft → grpo --stage 2 → grpo --stage 3. Every stage writes a PEFT adapter
directory that the `mllm` Builder loads as its --model, plus `lego_train.json` (what was
trained on what, and the last logged figures).

torch, transformers, trl, peft and datasets are imported here only, inside the functions.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import BadInput, CannotDo
from ..images import load_image
from ..registry import Registry
from ..vlm import load_processor
from .rows import completion_text, prompt_messages

# LoRA on the language model's linear layers only: the vision tower keeps its weights
LORA_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"


@dataclass
class TrainSettings:
    model: str
    out: str
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    qlora: bool = False
    learning_rate: float = 1e-4
    epochs: float = 1.0
    max_steps: int = -1
    batch: int = 1
    grad_accum: int = 8
    gradient_checkpointing: bool | None = None  # None: on with CUDA, off on CPU
    save_steps: int = 0  # 0: only the final adapter
    logging_steps: int = 10
    report_to: str = "none"
    seed: int = 0
    system_role: bool = False
    max_length: int | None = None  # SFT: tokens per example (None: no truncation)


def _need_training_packages() -> None:
    missing = []
    for name in ("torch", "trl", "peft", "datasets"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise CannotDo(f"training needs {', '.join(missing)}: pip install -r requirements-train.txt "
                       "(docs/TRAINING.md)")


def adapter_base(model: str) -> str | None:
    """The base model of an adapter directory, or None when `model` is not one."""
    config = Path(model).expanduser() / "adapter_config.json"
    if not config.is_file():
        return None
    base = json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path")
    if not base:
        raise BadInput(f"{config} names no base_model_name_or_path")
    return base


def _device() -> dict[str, Any]:
    import torch

    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported()
    return {"cuda": cuda, "bf16": bf16, "fp16": cuda and not bf16,
            "dtype": torch.bfloat16 if bf16 else (torch.float16 if cuda else torch.float32)}


def load_for_training(settings: TrainSettings) -> tuple[Any, Any, Any]:
    """(model, processor, peft_config): a fresh LoRA config for a base model, None for an
    adapter that is trained further (the model is then already a trainable PeftModel)."""
    from peft import LoraConfig, PeftModel, prepare_model_for_kbit_training
    from transformers import AutoModelForImageTextToText, BitsAndBytesConfig

    adapter = settings.model if adapter_base(settings.model) else None
    base = adapter_base(settings.model) or settings.model
    if Path(base).expanduser().is_dir():
        base = str(Path(base).expanduser().resolve())  # adapters then name their base wherever they are loaded
    elif base.startswith(("/", ".", "~")) or base.count("/") != 1:
        raise BadInput(f"model {base!r} is neither a directory nor a hub id (org/name)")
    device = _device()
    kwargs: dict[str, Any] = {"dtype": device["dtype"]}
    if settings.qlora:
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=device["dtype"])
    if device["cuda"] and settings.qlora:  # a quantized model cannot be moved after loading
        kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", 0))}
    try:
        processor = load_processor(base, local_files_only=Path(base).is_dir())
        model = AutoModelForImageTextToText.from_pretrained(base, **kwargs)
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot load the base model {base!r}: {str(exc).splitlines()[0]}") from exc
    if settings.qlora:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=_checkpointing(settings))
    if adapter is not None:
        return PeftModel.from_pretrained(model, adapter, is_trainable=True), processor, None
    config = LoraConfig(r=settings.lora_r, lora_alpha=settings.lora_alpha, lora_dropout=settings.lora_dropout,
                        target_modules=LORA_TARGETS, task_type="CAUSAL_LM")
    return model, processor, config


def _checkpointing(settings: TrainSettings) -> bool:
    return settings.gradient_checkpointing if settings.gradient_checkpointing is not None else _device()["cuda"]


def _trainer_args(settings: TrainSettings) -> dict[str, Any]:
    device = _device()
    return dict(
        output_dir=settings.out, per_device_train_batch_size=settings.batch,
        gradient_accumulation_steps=settings.grad_accum, learning_rate=settings.learning_rate,
        num_train_epochs=settings.epochs, max_steps=settings.max_steps, logging_steps=settings.logging_steps,
        save_strategy="steps" if settings.save_steps else "no", save_steps=settings.save_steps or 500,
        report_to=settings.report_to, seed=settings.seed, use_cpu=not device["cuda"], bf16=device["bf16"],
        fp16=device["fp16"], gradient_checkpointing=_checkpointing(settings), dataloader_num_workers=0,
    )


def _images_column(dataset):
    from datasets import Image, List

    return dataset.cast_column("images", List(Image()))


def sft_dataset(registry: Registry, rows: list[dict], system_role: bool = False):
    """Prompt-completion rows: the Builder's prompt (image first) → the target answer."""
    from datasets import Dataset

    records = [{
        "prompt": prompt_messages(registry, row, load_image(row["image"]), system_role),
        "completion": [{"role": "assistant",
                        "content": [{"type": "text", "text": completion_text(row.get("reasoning"), row["workflow"])}]}],
        "images": [row["image"]],
    } for row in rows]
    return _images_column(Dataset.from_list(records))


def grpo_dataset(registry: Registry, rows: list[dict], system_role: bool = False):
    """Prompts plus the columns the rewards read (image, mask, has_mask, instruction, feedback, workflow)."""
    from datasets import Dataset

    records = [{
        "prompt": prompt_messages(registry, row, load_image(row["image"]), system_role),
        "images": [row["image"]],
        "image": row["image"], "mask": row.get("mask"), "has_mask": bool(row.get("has_mask")),
        "instruction": row["instruction"], "feedback": list(row.get("feedback") or []),
        "workflow": json.dumps(row["workflow"]) if row.get("workflow") is not None else None,
    } for row in rows]
    return _images_column(Dataset.from_list(records))


def _finish(trainer, settings: TrainSettings, stage: int, extra: dict, t0: float) -> dict:
    trainer.save_model(settings.out)  # the adapter and the processor, from the main process only
    logs = [entry for entry in trainer.state.log_history if "loss" in entry or "train_loss" in entry]
    record = {"stage": stage, "base_or_adapter": settings.model, "settings": asdict(settings),
              "steps": trainer.state.global_step, "seconds": round(time.time() - t0, 1),
              "last_logs": logs[-3:], **extra}
    if trainer.is_world_process_zero():
        Path(settings.out, "lego_train.json").write_text(json.dumps(record, indent=2, default=str) + "\n",
                                                         encoding="utf-8")
    return record


def train_sft(registry: Registry, rows: list[dict], settings: TrainSettings) -> dict:
    """Stage 1: supervised fine-tuning on the rows' target answers (loss on the answer only)."""
    _need_training_packages()
    targets = [r for r in rows if r.get("workflow") is not None]
    if not targets:
        raise BadInput("train sft needs rows with a target workflow (make them with `train data`)")
    from trl import SFTConfig, SFTTrainer

    t0 = time.time()
    model, processor, peft_config = load_for_training(settings)
    args = SFTConfig(**_trainer_args(settings), max_length=settings.max_length, completion_only_loss=True)
    trainer = SFTTrainer(model=model, args=args, train_dataset=sft_dataset(registry, targets, settings.system_role),
                         processing_class=processor, peft_config=peft_config)
    trainer.train()
    return _finish(trainer, settings, 1, {"rows": len(targets)}, t0)


@dataclass
class GRPOSettings:
    generations: int = 8
    max_completion_length: int = 1536
    temperature: float = 1.0
    beta: float = 0.0
    use_vllm: bool = False


def train_grpo(registry: Registry, rows: list[dict], settings: TrainSettings, grpo: GRPOSettings, stage: int,
               rewarder, weights: dict[str, float]) -> dict:
    """Stage 2 (rows with targets) or 3 (open-domain rows): GRPO with the weighted reward terms."""
    _need_training_packages()
    if stage not in (2, 3):
        raise BadInput("--stage is 2 (RL on rows with targets) or 3 (RL on open-domain rows)")
    chosen = [r for r in rows if (r.get("workflow") is not None) == (stage == 2)]
    if not chosen:
        kind = "with a target workflow" if stage == 2 else "without a target (open-domain rows)"
        raise BadInput(f"stage {stage} trains on rows {kind}; the data file has none")
    from trl import GRPOConfig, GRPOTrainer

    t0 = time.time()
    functions, reward_weights = rewarder.trl_functions(weights)
    if not functions:
        raise BadInput("every reward weight is 0: nothing to learn from")
    model, processor, peft_config = load_for_training(settings)
    processor.tokenizer.padding_side = "left"  # generation pads on the left
    extra = {"use_vllm": True, "vllm_mode": "colocate"} if grpo.use_vllm else {}
    try:
        args = GRPOConfig(**_trainer_args(settings), num_generations=grpo.generations,
                          max_completion_length=grpo.max_completion_length, temperature=grpo.temperature,
                          beta=grpo.beta, reward_weights=reward_weights, **extra)
        trainer = GRPOTrainer(model=model, reward_funcs=functions, args=args, processing_class=processor,
                              train_dataset=grpo_dataset(registry, chosen, settings.system_role), peft_config=peft_config)
    except ValueError as exc:  # TRL's own checks (batch sizes vs. generations …) say what to change
        raise BadInput(f"GRPO settings: {exc}") from exc
    trainer.train()
    return _finish(trainer, settings, stage, {"rows": len(chosen), "weights": weights}, t0)
