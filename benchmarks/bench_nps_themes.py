"""Comment-theme discovery time at several comment counts, and nps-analysis end to end (first and cached call).

    python benchmarks/bench_nps_themes.py [--sizes 1000,10000,100000] [--dir /tmp/cs-mcp-bench]

Comments are drawn with the seeded generator of tests/data/feedback_large (paraphrases, mixed topics, typos,
chatter). 'themes' times `comment_themes` on the comments alone (TF-IDF, latent semantic space, choosing k,
clustering, names, seeds, contrast, quotes), wall clock and the process's CPU time (the CPU figure is what the
wall time would be on an idle machine, as discovery runs on one thread); 'first' is nps-analysis on a workspace
of that many answers (one comment per respondent) after loading it, 'cached' the same call again (themes come
from the per-version cache).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib.util
import random
import time
from pathlib import Path

from cs_mcp.config import load_settings
from cs_mcp.domain.nps import nps_analysis
from cs_mcp.domain.nps_themes import Comment, comment_themes
from cs_mcp.workspace.loader import open_workspace

GENERATOR = Path(__file__).parents[1] / "tests" / "data" / "feedback_large" / "generate.py"


def _generator():
    spec = importlib.util.spec_from_file_location("feedback_generate", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _answers(n: int) -> list[dict]:
    gen, rng = _generator(), random.Random(7)
    out = []
    for i in range(n):
        side = rng.choices(("detractor", "passive", "promoter"), weights=(50, 20, 30))[0]
        text, _ = gen.compose(rng, side)
        out.append({
            "response_id": f"R-{i}", "account_id": f"A-{i % 2000}", "contact_id": f"C-{i}",
            "responded_at": (gen.AS_OF - dt.timedelta(days=rng.randint(0, 364))).isoformat(),
            "score": gen.score_for(rng, side), "comment": text,
        })
    return out


def _workspace(root: Path, answers: list[dict]) -> Path:
    path = root / f"nps-{len(answers)}"
    if not (path / "nps.csv").exists():
        path.mkdir(parents=True, exist_ok=True)
        with (path / "accounts.csv").open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["account_id", "name", "arr"])
            w.writerows([f"A-{i}", f"Account {i}", 10_000] for i in range(2000))
        with (path / "nps.csv").open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(answers[0]))
            w.writeheader()
            w.writerows(answers)
        (path / "cs-mcp.yaml").write_text("data:\n  as_of: 2026-06-30\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--dir", default="/tmp/cs-mcp-bench")
    args = parser.parse_args()
    settings = load_settings().feedback
    print(f"{'comments':>9} {'themes':>8} {'cpu':>7} {'k':>3} {'coverage':>9} {'load':>7} {'first':>7} {'cached':>7}")
    comment_themes([Comment("warm up the imports", "passive", "A", 7, dt.date(2026, 1, 1))] * 50, settings)
    for n in (int(s) for s in args.sizes.split(",")):
        answers = _answers(n)
        side = {"promoter": 9, "detractor": 6}
        comments = [
            Comment(a["comment"], "promoter" if a["score"] >= side["promoter"] else "detractor"
                    if a["score"] <= side["detractor"] else "passive", a["account_id"], a["score"],
                    dt.date.fromisoformat(a["responded_at"]))
            for a in answers if a["comment"].strip()
        ]
        t, cpu = time.perf_counter(), time.process_time()
        found = comment_themes(comments, settings)
        themes, themes_cpu = time.perf_counter() - t, time.process_time() - cpu
        path = _workspace(Path(args.dir), answers)
        t = time.perf_counter()
        ws = open_workspace(load_settings(path))
        load = time.perf_counter() - t
        with ws:
            t = time.perf_counter()
            nps_analysis(ws)
            first = time.perf_counter() - t
            t = time.perf_counter()
            nps_analysis(ws)
            cached = time.perf_counter() - t
        cov = found.coverage
        print(f"{len(comments):>9,} {themes:>7.2f}s {themes_cpu:>6.2f}s {cov.k:>3} {cov.coverage:>9.1%} "
              f"{load:>6.2f}s {first:>6.2f}s {cached:>6.2f}s")


if __name__ == "__main__":
    main()
