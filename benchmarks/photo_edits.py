"""Edits on public sample photos, run as a user runs them, for grading by eye.

    python benchmarks/photo_edits.py                 # run all, write docs/contact_photos*.png + a table
    python benchmarks/photo_edits.py --only 3 7      # a few, by number
    python benchmarks/photo_edits.py --table-only    # re-print the table and sheets from the last run

Each edit goes through `Editor.think` (Think-while-Edit with the offline critic, 3 turns, the
CLI's default), offline engines only. Results and contact sheets land in docs/; the grades are
given by a person who looked at each result (benchmarks/photo_grades.json, one per edit, with
the sha256 of the result it grades: a changed result shows as "ungraded" until looked at
again). A decline must state the next step the user can take.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lego_demo.bench.sample_photos import photo, truth  # noqa: E402
from lego_demo.editor import Editor  # noqa: E402
from lego_demo.errors import LegoError  # noqa: E402

GRADES = ROOT / "benchmarks" / "photo_grades.json"
OUT = ROOT / "out" / "photo_edits"  # results and the last run's record (not committed)
RUN = OUT / "run.json"
SHEET = ROOT / "docs" / "contact_photos_{}.jpg"
NEXT_STEP = ("paint over", "--mask", "--engine", "mark ", "allow res", "configure", "plugin")

# (photo, instruction, feedback, painted mask: a hand-drawn mask grown as a rough brush would)
EDITS: list[tuple[str, str, tuple[str, ...], str | None]] = [
    ("astronaut", "make her orange suit blue", (), None),
    ("astronaut", "make her hair purple", (), None),
    ("astronaut", "replace the background with plain white", (), None),
    ("astronaut", "blur the background", (), None),
    ("astronaut", "make it look like a cartoon", (), None),
    ("astronaut", "turn it into a watercolor painting", (), None),
    ("astronaut", "make it pop art", (), None),
    ("astronaut", "brighten the image a lot", (), None),
    ("chelsea", "replace the background with plain white", (), None),
    ("chelsea", "blur the background", (), None),
    ("chelsea", "add a red bow tie to the cat", (), None),
    ("chelsea", "make it look like winter", (), None),
    ("chelsea", "turn it into a watercolor painting", (), None),
    ("chelsea", "make the colors more vivid", (), None),
    ("coffee", "remove the spoon", (), None),
    ("coffee", "remove the spoon", (), "spoon"),
    ("coffee", "make the red cup blue", (), None),
    ("coffee", "make the saucer green", (), None),
    ("coffee", "turn it into a pencil sketch", (), None),
    ("coffee", "make it darker", (), None),
    ("rocket", "make the sky orange", (), None),
    ("rocket", "make the sky orange", ("don't use RES",), None),
    ("rocket", "make it look like sunset", (), None),
    ("rocket", "make it night", (), None),
    ("rocket", "make it look like winter", (), None),
    ("rocket", "increase the contrast", (), None),
    ("camera", "remove the man", (), None),
    ("camera", "blur the background", (), None),
    ("camera", "make it look like winter", (), None),
    ("motorcycle", "make the red parts blue", (), None),
    ("motorcycle", "make the motorcycle blue", (), None),
    ("motorcycle", "blur the background", (), None),
    ("motorcycle", "make it night", (), None),
    ("motorcycle", "make it look like a cartoon", (), None),
    ("grace_hopper", "make her jacket dark red", (), None),
    ("grace_hopper", "blur the background", (), None),
    ("grace_hopper", "make her hair purple", (), None),
    ("grace_hopper", "pixelate her face", (), None),
    ("grace_hopper", "make it pop art", (), None),
    ("grace_hopper", "make it look like sunset", (), None),
    ("text", "replace the text with HELLO WORLD", (), None),
    ("page", 'replace "Region-based" with "Edge-based"', (), None),
    ("page", 'change the title to "Colour segmentation"', (), None),
    ("coins", "make the coins gold", (), None),
    ("coins", "make it look vintage", (), None),
    ("clock_motion", "make it sepia", (), None),
    # removals over a painted mask, added to check the critic's verdicts against a person's look
    ("coins", "remove the coin", (), "coin"),
    ("motorcycle", "remove the red box", (), "red box"),
    ("grace_hopper", "remove the name tag", (), "name tag"),
    ("grace_hopper", "remove the ribbons", (), "ribbons"),
    ("clock_motion", "remove the clock", (), "subject"),
]


def painted(name: str, key: str, shape: tuple[int, int]) -> np.ndarray:
    """A user's rough brush over a hand-drawn object: the mask grown by 2.5% of the long side."""
    m = truth(name, key, shape).astype(np.uint8)
    r = max(2, round(0.025 * max(shape)))
    return cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))).astype(bool)


def run_one(editor: Editor, index: int, edit) -> dict:
    name, instruction, feedback, mask_key = edit
    image = photo(name)
    mask = painted(name, mask_key, image.shape[:2]) if mask_key else None
    t0 = time.perf_counter()
    row = {"id": index, "photo": name, "instruction": instruction, "feedback": list(feedback),
           "mask": f"painted over the {mask_key}" if mask_key else None}
    try:
        outcome = editor.think(instruction, image, mask, feedback=list(feedback), turns=3)
    except LegoError as exc:  # no turn produced an image: the first turn's reason
        reason = str(exc)
        row.update(outcome="declined", reason=reason, seconds=round(time.perf_counter() - t0, 2),
                   next_step=any(k in reason.lower() for k in NEXT_STEP), result=None)
        return row
    row["seconds"] = round(time.perf_counter() - t0, 2)
    best = outcome.best_turn
    result = best.result
    out = OUT / f"{index:02d}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(result[..., :3] if result.shape[2] == 3 else result).save(out)
    c = best.critique
    row.update(outcome="done", bricks=[s.brick for s in best.plan.workflow.steps], turns=len(outcome.turns),
               semantic=round(c.semantic, 1), quality=round(c.quality, 1), notes=best.run.caveats,
               result=str(out), sha256=hashlib.sha256(result.tobytes()).hexdigest()[:16])
    return row


def sheets(rows: list[dict], per_sheet: int = 12) -> list[Path]:
    """Contact sheets: input | result per edit, with the instruction and the outcome."""
    tiles = []
    for r in rows:
        image = photo(r["photo"])
        h = 220
        a = cv2.resize(image, (round(image.shape[1] * h / image.shape[0]), h), interpolation=cv2.INTER_AREA)
        if r["result"]:
            res = np.asarray(Image.open(r["result"]).convert("RGB"))
            b = cv2.resize(res, (round(res.shape[1] * h / res.shape[0]), h), interpolation=cv2.INTER_AREA)
        else:
            b = np.full_like(a, 235)
        tile = np.concatenate([a, np.full((h, 4, 3), 255, np.uint8), b], 1)
        canvas = Image.new("RGB", (max(tile.shape[1], 560), h + 52), "white")
        canvas.paste(Image.fromarray(tile), (0, 52))
        d = ImageDraw.Draw(canvas)
        extra = (f" [feedback: {', '.join(r['feedback'])}]" if r["feedback"] else "") + (f" [{r['mask']}]" if r["mask"] else "")
        d.text((4, 2), f"{r['id']}. {r['photo']}: {r['instruction']}{extra}", fill="black")
        if r["outcome"] == "done":
            d.text((4, 16), f"{' '.join(r['bricks'])}  critic {r['semantic']}/{r['quality']}  grade {r.get('grade', '?')}",
                   fill="navy")
            if r.get("notes"):
                d.text((4, 30), textwrap.shorten(r["notes"][0], 95), fill="darkorange")
        else:
            for k, line in enumerate(textwrap.wrap(r["reason"], 95)[:3]):
                d.text((4, 16 + 12 * k), line, fill="firebrick")
        tiles.append(np.asarray(canvas))
    written = []
    for k in range(0, len(tiles), per_sheet):
        group = tiles[k:k + per_sheet]
        width = max(t.shape[1] for t in group)
        group = [np.pad(t, ((0, 0), (0, width - t.shape[1]), (0, 0)), constant_values=255) for t in group]
        while len(group) % 3:
            group.append(np.full_like(group[0], 255))
        rows_img = [np.concatenate(group[i:i + 3], 1) for i in range(0, len(group), 3)]
        path = Path(str(SHEET).format(k // per_sheet + 1))
        Image.fromarray(np.concatenate(rows_img, 0)).save(path, quality=82, optimize=True)
        written.append(path)
    return written


def table(rows: list[dict]) -> str:
    grades = json.loads(GRADES.read_text()) if GRADES.exists() else {}
    lines = ["| # | photo | instruction | outcome | critic sem/qual | grade | note |", "|---|---|---|---|---|---|---|"]
    attempted, graded_declines = [], 0
    for r in rows:
        g = grades.get(str(r["id"]), {})
        instruction = r["instruction"] + (f" (feedback: {', '.join(r['feedback'])})" if r["feedback"] else "") + \
            (f" ({r['mask']})" if r["mask"] else "")
        if r["outcome"] == "done":
            fresh = g.get("sha256") == r["sha256"]
            grade = g["grade"] if fresh else "ungraded"
            if fresh:
                attempted.append(g["grade"])
            note = g.get("note", "") if fresh else ("result changed since it was graded" if g else "not graded yet")
            lines.append(f"| {r['id']} | {r['photo']} | {instruction} | done ({' → '.join(r['bricks'])}) | "
                         f"{r['semantic']}/{r['quality']} | {grade} | {note} |")
        else:
            graded_declines += r["next_step"]
            step = "next step stated" if r["next_step"] else "NO next step"
            lines.append(f"| {r['id']} | {r['photo']} | {instruction} | declined: {textwrap.shorten(r['reason'], 160)} | "
                         f"– | – | {step} |")
    declines = sum(r["outcome"] != "done" for r in rows)
    mean = f"{np.mean(attempted):.2f}" if attempted else "n/a"
    lines += ["", f"{len(rows)} edits on {len({r['photo'] for r in rows})} photos: {len(rows) - declines} attempted "
              f"(graded {len(attempted)}, mean grade **{mean}**), {declines} declined ({graded_declines} of them "
              "state the next step)."]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", type=int, nargs="*", help="edit numbers to (re)run")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    rows = json.loads(RUN.read_text()) if RUN.exists() else []
    if not args.table_only:
        editor = Editor.from_config()
        wanted = set(args.only or range(1, len(EDITS) + 1))
        done = {r["id"]: r for r in rows}
        for i, edit in enumerate(EDITS, 1):
            if i in wanted:
                done[i] = run_one(editor, i, edit)
                r = done[i]
                print(f"{i:2d} {r['photo']:12s} {r['instruction'][:40]:40s} {r['outcome']:8s} "
                      f"{r.get('semantic', '')}/{r.get('quality', '')} {r.get('reason', '')[:90]}", flush=True)
        rows = [done[i] for i in sorted(done)]
        RUN.parent.mkdir(parents=True, exist_ok=True)
        RUN.write_text(json.dumps(rows, indent=1) + "\n")
    grades = json.loads(GRADES.read_text()) if GRADES.exists() else {}
    for r in rows:
        g = grades.get(str(r["id"]))
        if g and r["outcome"] == "done" and g.get("sha256") == r.get("sha256"):
            r["grade"] = g["grade"]
    if all(r["result"] is None or Path(r["result"]).exists() for r in rows):
        for path in sheets(rows):
            print(f"wrote {path.relative_to(ROOT)}")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
