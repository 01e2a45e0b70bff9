"""`python -m lego_demo`: a thin shell over `Editor`. Exit codes: 0 ok, 1 internal error,
2 bad input, 3 declined / cannot do here."""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from .editor import BUILDERS, CRITICS, Editor
from .errors import BadInput, LegoError


def _common(top: bool) -> argparse.ArgumentParser:
    """Options accepted before or after the command. Only the top level sets defaults, so a
    subcommand does not overwrite what was given before it."""
    p = argparse.ArgumentParser(add_help=False)
    default = (lambda v: v) if top else (lambda v: argparse.SUPPRESS)
    p.add_argument("--bricks", action="append", default=default([]), metavar="PATH.py",
                   help="load extra bricks from this plugin file (repeatable)")
    p.add_argument("--seed", type=int, default=default(None), help="seed for engines that use randomness (default 0)")
    p.add_argument("--debug", action="store_true", default=default(False), help="show tracebacks")
    p.add_argument("--step-timeout", type=float, default=default(None), metavar="SECONDS",
                   help="stop a step that runs longer than this (default 300, or step_timeout in the config file)")
    p.add_argument("--run-budget", type=float, default=default(None), metavar="SECONDS",
                   help="stop a run whose classical steps take longer than this in all (default 20, or run_budget "
                   "in the config file)")
    p.add_argument("--config", default=default(None), metavar="PATH",
                   help="lego.toml with [engines.BRICK] engine/model/... (default $LEGO_CONFIG; none = classical engines)")
    p.add_argument("--engine", action="append", default=default([]), metavar="BRICK=ENGINE[:MODEL]",
                   help="use this engine (and model) for a brick, e.g. FILL=diffusers-inpaint:/models/sd2-inpainting "
                   "(repeatable; overrides the config file); BRICK=ray:ENGINE calls its Ray Serve deployment")
    p.add_argument("--images-base-url", default=default(None), metavar="URL",
                   help="OpenAI Images API server for the openai-images engine, e.g. http://127.0.0.1:8091/v1 "
                   "(default $LEGO_IMAGES_BASE_URL, else [images] base_url in the config file)")
    return p


def _model_options(p: argparse.ArgumentParser) -> None:
    """Options of the model Builders (mllm, openai)."""
    p.add_argument("--model", help="mllm: hub id or model directory (default Qwen/Qwen2.5-VL-7B-Instruct); "
                   "openai: the model name the server serves")
    p.add_argument("--quant", choices=("4bit", "8bit", "none"),
                   help="mllm quantization (default: 4bit on a CUDA GPU, none on CPU)")
    p.add_argument("--base-url", metavar="URL",
                   help="openai: server URL, e.g. http://127.0.0.1:8000/v1 (default $OPENAI_BASE_URL)")
    p.add_argument("--prompt-file", metavar="FILE",
                   help="mllm/openai: the official Lego-Edit system_prompt.txt; the Builder then talks as the "
                   "release's demo does (448-px image, 4096 tokens; docs/BUILDERS.md)")


def build_parser() -> argparse.ArgumentParser:
    common = _common(top=False)
    parser = argparse.ArgumentParser(prog="python -m lego_demo", description=__doc__, parents=[_common(top=True)])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("bricks", parents=[common], help="list the bricks and their engines")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("validate", parents=[common], help="check a workflow (file or - for stdin)")
    p.add_argument("workflow")
    p.add_argument("--json", action="store_true")
    p.add_argument("--ban", action="append", default=[], metavar="BRICK", help="treat this brick as banned")

    p = sub.add_parser("run", parents=[common], help="run a workflow on an image")
    p.add_argument("workflow")
    p.add_argument("--image", required=True)
    p.add_argument("--mask")
    p.add_argument("--out", required=True)

    p = sub.add_parser("plan", parents=[common], help="plan an edit (or a JSONL batch) without running it")
    p.add_argument("--instruction")
    p.add_argument("--image")
    p.add_argument("--mask")
    p.add_argument("--feedback", action="append", default=[])
    p.add_argument("--builder", default=None, choices=BUILDERS, help="default: rule (or the config file's)")
    _model_options(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--batch", metavar="IN.jsonl")
    p.add_argument("--out", metavar="OUT.jsonl")

    p = sub.add_parser("bench", parents=[common], help="measure quality, speed, memory (writes bench.json/md)")
    p.add_argument("--suite", choices=("synthetic", "photos", "planning", "think"), required=True)
    p.add_argument("--quick", action="store_true", help="a small run (about 2 minutes at most)")
    p.add_argument("--instructions", help="JSONL file for the planning suite (default: tests/data/instructions.jsonl)")
    p.add_argument("--judge", choices=("openai", "mllm"),
                   help="synthetic suite: also a VIEScore-style judged score from this model critic")
    p.add_argument("--judge-model", help="the judge's model (served name, hub id or directory)")
    p.add_argument("--judge-base-url", help="the judge's OpenAI-compatible server (else $OPENAI_BASE_URL)")
    p.add_argument("--out", required=True)

    p = sub.add_parser("serve", parents=[common], help="serve the configured model engines for the app and CLI")
    p.add_argument("--ray", action="store_true", help="as Ray Serve deployments ([ray] in lego.toml; docs/SCALING.md)")

    p = sub.add_parser("edit", parents=[common], help="plan and run an edit")
    p.add_argument("image")
    p.add_argument("--instruction", required=True)
    p.add_argument("--mask")
    p.add_argument("--feedback", action="append", default=[])
    p.add_argument("--builder", default=None, choices=BUILDERS, help="default: rule (or the config file's)")
    _model_options(p)
    p.add_argument("--think", type=int, default=3, metavar="N",
                   help="Think-while-Edit: at most N turns of critique and refinement (1 = edit once)")
    p.add_argument("--critic", default=None, choices=CRITICS,
                   help="who judges each turn: measured offline checks, or the Builder's model (EditThinker); default: offline or the config file's")
    p.add_argument("--critic-prompt-file", metavar="FILE",
                   help="--critic model: EditThinker's prompt_template.txt (its released format)")
    p.add_argument("--out", required=True)

    from .train.cli import add_arguments as add_train_arguments  # imports no torch/trl

    add_train_arguments(sub.add_parser("train", help="train a model Builder: data, score, sft, grpo "
                                       "(docs/TRAINING.md)"), parents=[common])
    return parser


def _editor(args) -> Editor:
    from .config import editor_config

    return Editor.from_config(editor_config(
        getattr(args, "config", None), getattr(args, "engine", []), plugins=args.bricks, seed=args.seed,
        images_base_url=getattr(args, "images_base_url", None),
        builder=getattr(args, "builder", None), critic=getattr(args, "critic", None),
        model=getattr(args, "model", None), quant=getattr(args, "quant", None),
        base_url=getattr(args, "base_url", None), prompt_file=getattr(args, "prompt_file", None),
        critic_prompt_file=getattr(args, "critic_prompt_file", None), step_timeout=args.step_timeout,
        run_budget=args.run_budget,
    ))


def _read_text(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    if not path.is_file():
        raise BadInput(f"workflow file {source!r}: no such file")
    return path.read_text(encoding="utf-8", errors="replace")


def cmd_bricks(args) -> int:
    editor = _editor(args)
    listing = editor.registry.to_json()
    if args.json:
        print(json.dumps(listing, indent=2))
        return 0
    for b in listing:
        ins = ", ".join(f"{n}:{i['type']}{'?' if i['optional'] else ''}" for n, i in b["inputs"].items())
        outs = ", ".join(f"{n}:{t}" for n, t in b["outputs"].items())
        print(f"{b['name']:<13} {b['kind']:<8} {b['summary']}")
        print(f"{'':<22} in  ({ins})  ->  out ({outs})")
        if not b["engines"]:
            print(f"{'':<22} engines: none here (needs a model engine)")
        for e in b["engines"]:
            mark = "available" if e["available"] else f"unavailable: {e['reason']}"
            print(f"{'':<22} engine {e['name']} [{e['kind']}] {mark}")
    return 0


def cmd_validate(args) -> int:
    editor = _editor(args)
    parsed, checked = editor.read_workflow(_read_text(args.workflow), banned=args.ban)
    if args.json:
        print(json.dumps({
            "valid": checked.ok,
            "repairs": checked.repairs,
            "problems": [p.to_json() for p in checked.problems],
            "workflow": checked.workflow.to_json(),
        }, indent=2, ensure_ascii=False))
    else:
        for r in checked.repairs:
            print(f"repaired: {r}")
        for p in checked.problems:
            print(f"problem: {p}", file=sys.stderr)
        print("valid" if checked.ok else f"invalid: {len(checked.problems)} problem(s)")
    return 0 if checked.ok else 2


def _inputs(editor: Editor, args):
    """The image (fitted to the working size) and optional mask; notes go to stderr."""
    inputs = editor.prepare(args.image, args.mask)
    for note in inputs.notes:
        print(f"note: {note}", file=sys.stderr)
    return inputs


def cmd_run(args) -> int:
    editor = _editor(args)
    inputs = _inputs(editor, args)
    result = editor.run(_read_text(args.workflow), inputs, on_progress=_print_progress)
    editor.write_run(args.out, result, extra={"notes": list(inputs.notes)})
    print(f"ran {len(result.trace)} step(s) in {result.seconds:.2f} s "
          f"({len(result.executed)} executed, {len(result.cached)} cached); wrote {args.out}")
    return 0


def _print_progress(event) -> None:
    if event.status in ("done", "cached", "failed"):
        extra = f" — {event.error}" if event.error else ""
        print(f"  step {event.step} · {event.brick} · {event.engine} · {event.status} "
              f"{event.seconds:.2f} s{extra}", file=sys.stderr)


def cmd_plan(args) -> int:
    editor = _editor(args)
    if args.batch:
        return _plan_batch(editor, args)
    if not args.instruction:
        raise BadInput("plan needs --instruction TEXT (or --batch IN.jsonl --out OUT.jsonl)")
    if args.mask and not args.image:
        raise BadInput("plan --mask needs --image too (the mask is checked against it)")
    inputs = _inputs(editor, args) if args.image else None
    plan = editor.plan(args.instruction, inputs, feedback=args.feedback)
    if args.json:
        print(json.dumps(plan.to_json(), indent=2, ensure_ascii=False))
    else:
        print(plan.reasoning)
        if plan.workflow is not None:
            print(plan.workflow.dumps())
        else:
            print(f"declined: {plan.declined}")
    return 0 if plan.workflow is not None and not plan.problems else 3


def _plan_batch(editor: Editor, args) -> int:
    if not args.out:
        raise BadInput("plan --batch needs --out OUT.jsonl")
    src = Path(args.batch)
    if not src.is_file():
        raise BadInput(f"batch file {args.batch!r}: no such file")
    rows, t0 = 0, time.perf_counter()
    with src.open(encoding="utf-8") as fin, open(args.out, "w", encoding="utf-8") as fout:
        for lineno, line in enumerate(fin, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                instruction = row["instruction"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise BadInput(f"{args.batch} line {lineno}: expected a JSON object with \"instruction\"") from None
            image = editor.prepare(row["image"]) if row.get("image") else None
            feedback = row.get("feedback") or []
            feedback = [feedback] if isinstance(feedback, str) else list(feedback)
            plan = editor.plan(instruction, image, None, feedback=feedback)
            fout.write(json.dumps({"id": row.get("id", lineno), **plan.to_json()}, ensure_ascii=False) + "\n")
            rows += 1
    seconds = time.perf_counter() - t0
    print(f"planned {rows} instruction(s) in {seconds:.2f} s ({rows / max(seconds, 1e-9):.0f}/s); wrote {args.out}",
          file=sys.stderr)
    return 0


def cmd_edit(args) -> int:
    editor = _editor(args)
    inputs = _inputs(editor, args)
    out = Path(args.out)

    def show(turn) -> None:
        if turn.plan is not None:
            print(turn.plan.reasoning, file=sys.stderr)
        c = turn.critique
        if c is not None:
            refine = f" — refine: {', '.join(c.feedback)}" if c.feedback else ""
            print(f"turn {turn.index}: semantic {c.semantic:.1f}, quality {c.quality:.1f}{refine}", file=sys.stderr)

    def keep_reasoning(plan) -> None:  # a decline's reasoning is worth keeping too
        if plan is not None and not (out / "reasoning.txt").exists():
            out.mkdir(parents=True, exist_ok=True)
            (out / "reasoning.txt").write_text(plan.reasoning + "\n", encoding="utf-8")

    outcome = editor.think(args.instruction, inputs, feedback=args.feedback, turns=args.think, on_turn=show,
                           on_plan=keep_reasoning, on_progress=_print_progress)
    best = outcome.best_turn
    for caveat in best.run.caveats:  # e.g. "target not verified: …"
        print(f"note: {caveat}", file=sys.stderr)
    editor.write_run(out, best.run, plan=best.plan,
                     extra={"instruction": args.instruction, "feedback": best.feedback, "notes": list(inputs.notes),
                            **outcome.to_json()})
    print(f"edited in {sum(t.seconds for t in outcome.turns):.2f} s over {len(outcome.turns)} turn(s), "
          f"best turn {best.index} ({outcome.stopped}); wrote {out}")
    return 0


def cmd_bench(args) -> int:
    import importlib

    from .bench.common import engines_in_use, machine, write

    editor = _editor(args)
    suite = importlib.import_module(f"lego_demo.bench.{args.suite}_suite")
    t0 = time.perf_counter()
    if args.suite == "planning" and args.instructions:
        report = suite.run(editor, args.instructions, quick=args.quick)
    elif args.judge:
        if args.suite != "synthetic" or not args.judge_model:
            raise BadInput("--judge works with --suite synthetic and needs --judge-model")
        report = suite.run(editor, quick=args.quick,
                           judge=editor.judge(args.judge, args.judge_model, args.judge_base_url))
    else:
        report = suite.run(editor, quick=args.quick)
    report.update({"suite": args.suite, "quick": args.quick, "seconds": round(time.perf_counter() - t0, 1),
                   "machine": machine(), "engines": engines_in_use(editor.registry)})
    m = report["machine"]
    header = (f"## {args.suite} suite{' (quick)' if args.quick else ''} — {m['date']}, {m['cpu']}, {m['cores']} cores, "
              f"{m['memory_gb']} GB, GPU: {m['gpu'] or 'none'}, Python {m['python']}; took {report['seconds']} s\n")
    write(args.out, report, header + "\n" + suite.markdown(report))
    print(header + "\n" + suite.markdown(report))
    return 0


def cmd_train(args) -> int:
    from .train.cli import main as train_main

    return train_main(args)


def cmd_serve(args) -> int:
    from .config import editor_config

    if not args.ray:
        raise BadInput("serve needs --ray (Ray Serve deployments are the only kind of server so far)")
    from .ray_serve import serve_forever

    return serve_forever(editor_config(args.config, args.engine, plugins=args.bricks,
                                       images_base_url=args.images_base_url))


COMMANDS = {"train": cmd_train, "bench": cmd_bench, "serve": cmd_serve, "bricks": cmd_bricks, "validate": cmd_validate,
            "run": cmd_run, "plan": cmd_plan, "edit": cmd_edit}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except LegoError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        return 0
    except Exception as exc:  # a bug: say so plainly, traceback on request
        if args.debug:
            traceback.print_exc()
        print(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return 1
