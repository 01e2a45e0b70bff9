"""`python -m lego_demo train data|score|sft|grpo`: the Builder training recipe (docs/TRAINING.md).

The main CLI hands the `train` parser to `add_arguments` and calls `main(args)`; nothing here
imports torch, trl or peft until a training command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import BadInput


def add_arguments(parser: argparse.ArgumentParser, parents: list[argparse.ArgumentParser]) -> None:
    sub = parser.add_subparsers(dest="train_command", required=True, metavar="{data,score,sft,grpo}")

    p = sub.add_parser("data", parents=parents, help="write training rows (targets from the rule Builder)")
    p.add_argument("--n", type=int, required=True, help="rows to write")
    p.add_argument("--out", required=True, metavar="FILE.jsonl", help="pictures go next to it, in FILE-images/")
    p.add_argument("--images", metavar="DIR", help="your own pictures (optional subjects.json names what is in "
                   "each); default: synthetic scenes and the bundled sample photos")
    p.add_argument("--open-share", type=float, default=0.2, help="share of open-domain rows without a target "
                   "(stage 3; default 0.2)")
    p.add_argument("--feedback-share", type=float, default=0.15, help="share of target rows that carry feedback")
    p.add_argument("--heldout", type=int, default=0, metavar="K",
                   help="also write K rows from held-out templates to FILE.heldout.jsonl (for evaluation)")
    p.add_argument("--size", type=int, default=384, help="longest side of the written pictures (default 384)")

    p = sub.add_parser("score", parents=parents, help="print the reward terms of given completions, or of a "
                       "Builder's plans for data rows")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--completions", metavar="FILE.jsonl",
                        help="data rows (instruction, image, feedback, workflow …) each with a \"completion\" text")
    source.add_argument("--data", metavar="FILE.jsonl", help="data rows planned by --builder (with their images, "
                        "masks and feedback, as at inference), then scored: evaluate a trained Builder")
    p.add_argument("--builder", choices=("rule", "mllm", "openai"), default="rule", help="with --data")
    p.add_argument("--model", help="with --data: the mllm Builder's model or adapter directory, or the served name")
    p.add_argument("--quant", choices=("4bit", "8bit", "none"))
    p.add_argument("--base-url", help="with --data --builder openai: the server URL")
    _reward_options(p)
    p.add_argument("--stage", type=int, choices=(2, 3), help="weigh the terms as this stage does (default: all 1)")
    p.add_argument("--json", action="store_true")

    for name, text in (("sft", "stage 1: supervised fine-tuning on the target workflows (TRL SFTTrainer)"),
                       ("grpo", "stage 2/3: GRPO with the rewards (TRL GRPOTrainer)")):
        p = sub.add_parser(name, parents=parents, help=text)
        p.add_argument("--data", required=True, metavar="FILE.jsonl")
        p.add_argument("--model", required=True, help="base model (hub id or directory) or an adapter directory "
                       "from an earlier stage")
        p.add_argument("--out", required=True, metavar="DIR", help="the adapter directory to write")
        p.add_argument("--qlora", action="store_true", help="load the base in 4-bit NF4 (QLoRA; needs bitsandbytes)")
        p.add_argument("--lora-r", type=int, default=16)
        p.add_argument("--lora-alpha", type=int, default=32)
        p.add_argument("--lr", type=float, default=1e-4 if name == "sft" else 1e-5)
        p.add_argument("--epochs", type=float, default=1.0)
        p.add_argument("--max-steps", type=int, default=-1, help="stop after this many optimizer steps")
        p.add_argument("--batch", type=int, default=1 if name == "sft" else 4, help="per-device batch")
        p.add_argument("--grad-accum", type=int, default=8 if name == "sft" else 2)
        p.add_argument("--gradient-checkpointing", action=argparse.BooleanOptionalAction, default=None,
                       help="default: on with a CUDA GPU")
        p.add_argument("--save-steps", type=int, default=0, help="also save checkpoints every N steps")
        p.add_argument("--logging-steps", type=int, default=10)
        p.add_argument("--report-to", default="none", help="none, tensorboard, wandb, trackio …")
        p.add_argument("--system-role", action="store_true",
                       help="fixed prompt part in a system turn (then run the Builder the same way)")
        if name == "sft":
            p.add_argument("--max-length", type=int, help="truncate examples to this many tokens (default: none)")
        else:
            p.add_argument("--stage", type=int, choices=(2, 3), required=True,
                           help="2: rows with targets; 3: open-domain rows, the critic judges")
            p.add_argument("--generations", type=int, default=4, help="completions per prompt (the GRPO group)")
            p.add_argument("--max-completion", type=int, default=1536, help="tokens per completion")
            p.add_argument("--temperature", type=float, default=1.0)
            p.add_argument("--beta", type=float, default=0.0, help="KL weight against the starting model")
            p.add_argument("--use-vllm", action="store_true", help="generate with vLLM (colocated; needs vllm)")
            _reward_options(p)


def _reward_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--critic", choices=("offline", "model", "none"), default=None,
                   help="who judges the edit for the critic term (default: offline; none for stage 2)")
    p.add_argument("--critic-model", help="model critic: the model name an OpenAI-compatible server serves")
    p.add_argument("--critic-base-url", help="model critic: the server URL (else $OPENAI_BASE_URL)")
    p.add_argument("--no-execute", action="store_true", help="do not run workflows (no executable/critic terms)")
    p.add_argument("--weights", metavar="TERM=W,…", help="override term weights, e.g. critic=2,length=0.5")
    p.add_argument("--length-budget", type=int, default=None, help="characters before the length penalty starts")


def _editor(args):
    from ..config import editor_config
    from ..editor import Editor

    return Editor.from_config(editor_config(
        args.config, args.engine, plugins=args.bricks, seed=args.seed, builder=getattr(args, "builder", None),
        model=getattr(args, "model", None), quant=getattr(args, "quant", None), base_url=getattr(args, "base_url", None),
        critic="offline"))


def _rewarder(args, editor, weights: dict[str, float], stage: int | None):
    """Rewards that run workflows and judge edits through the Editor (its engines, step cache
    and model manager): the offline critic, or a model critic over an OpenAI-compatible server."""
    from .rewards import LENGTH_BUDGET, Rewarder

    critic_name = args.critic or ("none" if stage == 2 else "offline")
    critic = None
    if args.no_execute or not weights.get("critic"):  # nobody reads the critic term: do not pay for it
        critic = None
    elif critic_name == "offline":
        critic = editor.critic
    elif critic_name == "model":
        if not args.critic_model:
            raise BadInput("--critic model needs --critic-model NAME (and --critic-base-url or $OPENAI_BASE_URL)")
        critic = editor.judge("openai", args.critic_model, args.critic_base_url)
    return Rewarder(editor.registry, None if args.no_execute else editor, critic,
                    length_budget=args.length_budget or LENGTH_BUDGET)


def cmd_data(args) -> int:
    from .data import make_data

    editor = _editor(args)
    report = make_data(editor.registry, args.n, Path(args.out), Path(args.images) if args.images else None,
                       open_share=args.open_share, feedback_share=args.feedback_share, heldout=args.heldout,
                       side=args.size, seed=args.seed or 0)
    for name, r in report["files"].items():
        print(f"wrote {r['rows'] + r['open_rows']} rows to {Path(args.out).parent / name}: {r['rows']} with targets "
              f"({r['with_feedback']} with feedback), {r['open_rows']} open-domain; {len(r['bricks'])} bricks used; "
              f"dropped {r['declined']} the rule Builder declined, {r['misread']} misread", file=sys.stderr)
    print(json.dumps(report, indent=2))
    return 0


def cmd_score(args) -> int:
    from .rewards import STAGE_WEIGHTS, TERMS, parse_weights, score_file

    editor = _editor(args)
    weights = parse_weights(args.weights, STAGE_WEIGHTS[args.stage] if args.stage else dict.fromkeys(TERMS, 1.0))
    if args.data:
        from .rewards import plan_rows

        completions = Path(args.data).with_suffix(f".{editor.builder.name}-plans.jsonl")
        planned = plan_rows(editor, args.data, completions)
        print(f"{editor.builder.name} Builder: {planned['planned']} of {planned['rows']} rows planned, "
              f"{planned['declined']} declined; its answers are in {completions}", file=sys.stderr)
    else:
        completions = args.completions
    scored = score_file(_rewarder(args, editor, weights, args.stage), completions, weights)
    if args.json:
        for s in scored:
            print(json.dumps(s, ensure_ascii=False))
        return 0
    used = [t for t in TERMS if weights.get(t)]
    print(f"{'id':<16}" + "".join(f"{t:>11}" for t in used) + f"{'total':>9}")
    for s in scored:
        cells = "".join(f"{'-' if s['terms'][t] is None else format(s['terms'][t], '.2f'):>11}" for t in used)
        print(f"{str(s['id'])[:15]:<16}{cells}{s['total']:>9.2f}")
        for note in s["notes"]:
            print(f"{'':<16}{note[:160]}")
    means = []
    for t in used:
        values = [s["terms"][t] for s in scored if s["terms"][t] is not None]
        means.append(f"{sum(values) / len(values):>11.2f}" if values else f"{'-':>11}")
    print(f"{'mean':<16}" + "".join(means) + f"{sum(s['total'] for s in scored) / len(scored):>9.2f}")
    return 0


def _settings(args):
    from .trainers import TrainSettings

    return TrainSettings(
        model=args.model, out=args.out, lora_r=args.lora_r, lora_alpha=args.lora_alpha, qlora=args.qlora,
        learning_rate=args.lr, epochs=args.epochs, max_steps=args.max_steps, batch=args.batch,
        grad_accum=args.grad_accum, gradient_checkpointing=args.gradient_checkpointing, save_steps=args.save_steps,
        logging_steps=args.logging_steps, report_to=args.report_to, seed=args.seed or 0,
        system_role=args.system_role, max_length=getattr(args, "max_length", None))


def cmd_sft(args) -> int:
    from .rows import read_rows
    from .trainers import train_sft

    editor = _editor(args)
    record = train_sft(editor.registry, read_rows(args.data, editor.registry), _settings(args))
    print(f"stage 1 (SFT): {record['steps']} step(s) on {record['rows']} row(s) in {record['seconds']} s; "
          f"adapter in {args.out} (use it with --builder mllm --model {args.out})")
    return 0


def cmd_grpo(args) -> int:
    from .rewards import STAGE_WEIGHTS, parse_weights
    from .rows import read_rows
    from .trainers import GRPOSettings, train_grpo

    editor = _editor(args)
    weights = parse_weights(args.weights, STAGE_WEIGHTS[args.stage])
    if args.no_execute:
        weights.update(executable=0.0, critic=0.0)
    grpo = GRPOSettings(generations=args.generations, max_completion_length=args.max_completion,
                        temperature=args.temperature, beta=args.beta, use_vllm=args.use_vllm)
    record = train_grpo(editor.registry, read_rows(args.data, editor.registry), _settings(args), grpo, args.stage,
                        _rewarder(args, editor, weights, args.stage), weights)
    print(f"stage {args.stage} (GRPO): {record['steps']} step(s) on {record['rows']} row(s) in {record['seconds']} s; "
          f"adapter in {args.out} (use it with --builder mllm --model {args.out})")
    return 0


COMMANDS = {"data": cmd_data, "score": cmd_score, "sft": cmd_sft, "grpo": cmd_grpo}


def main(args) -> int:
    return COMMANDS[args.train_command](args)
