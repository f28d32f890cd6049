"""Measure the template against its targets and write the results to benchmarks/results/.

    uv run --group test --group bench python -m benchmarks.run            # every benchmark
    uv run --group test --group bench python -m benchmarks.run render     # one (or several)

Benchmarks (see benchmarks/README.md for what each target means and why):
  render         `copier copy` of each variant / copier-uv 1.13.0, interleaved  target <= 1x
  time-to-green  render -> make setup -> make all -> make test, warm uv cache  tabular <= 60 s
                                                                              vision <= 150 s
                                                                             llm-rag <= 120 s
  service        tabular /predict p50 vs /health p50 on one server            target <= 2x
                 and a 1,000-record /predict/batch p50                        target <= 50 ms
  image          each variant's serving image on the shared base image       tabular <= 600 MB
                                                                              vision <= 450 MB
                                                                   llm-rag measured, no target
  vision         make train: test accuracy >= 0.90 within 90 s; ONNX Runtime >= 500 images/s
                 and faster than PyTorch; one-image /predict p50 <= 3x /health p50
  llm-rag        make ingest ARGS=--full of the sample (encoder already exported) <= 30 s,
                 cold and unchanged ingests reported; hybrid hit@5 >= 0.9 and MRR >= 0.75;
                 hybrid retrieval p50 <= 30 ms at 1,000 and <= 60 ms at 10,000 chunks
  hardening      tabular service: fuzzing (>= 2,000 requests, 0 5xx), worst error reply
                 (<= 64 KB, <= 50 ms), /health p99 under batch load (<= 50 ms), /predict
                 req/s at concurrency 8 (>= 1,000), crash matrix (0 wrong-version cases)

Each writes benchmarks/results/<name>.json; benchmarks/results/SUMMARY.md is rebuilt from
every JSON file there. These are measurements, not tests: the script exits 0 even when a
target is missed (the summary says so), and non-zero only when a measurement fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.hardening import bench_hardening
from benchmarks.image import bench_image
from benchmarks.llm_rag import bench_llm_rag
from benchmarks.pipeline import bench_time_to_green, render_and_build
from benchmarks.render import bench_render
from benchmarks.results import RESULTS
from benchmarks.service import bench_service
from benchmarks.vision import bench_vision
from harness.building import BuiltProject
from harness.rendering import isolated_copier_settings
from harness.variants import VARIANTS

BENCHMARKS = ("render", "time-to-green", "service", "image", "hardening", "vision", "llm-rag")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    parser.add_argument("names", nargs="*", metavar="BENCHMARK", help=", ".join(BENCHMARKS))
    parser.add_argument("--repeats", type=int, default=15, help="render rounds (default 15)")
    parser.add_argument("--requests", type=int, default=500, help="requests per route")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument(
        "--examples", type=int, default=1000, help="Schemathesis examples per operation"
    )
    parser.add_argument("--crash-rounds", type=int, default=2, help="kills per crash moment")
    parser.add_argument(
        "--variant",
        action="append",
        choices=sorted(VARIANTS),
        help="time-to-green and image for this variant only (repeatable; default: all)",
    )
    args = parser.parse_args(argv)
    chosen = args.variant or list(VARIANTS)
    variants = [VARIANTS[name] for name in chosen]
    names = args.names or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {BENCHMARKS}")
    workdir = Path(tempfile.mkdtemp(prefix="aipt-bench-"))
    os.environ["COPIER_SETTINGS_PATH"] = str(isolated_copier_settings(workdir))
    # Measure what users see: Python caching bytecode. With PYTHONDONTWRITEBYTECODE set (as
    # in these shells) every process recompiles Copier and its dependencies, which triples
    # start-up time and buries the template's own work under noise.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        if "render" in names:
            bench_render(workdir, args.repeats)
        projects: dict[str, BuiltProject] = {}
        if "time-to-green" in names:
            for variant in variants:
                projects[variant.name] = bench_time_to_green(workdir, variant)
        if "service" in names:
            tabular = VARIANTS["tabular"]
            if "tabular" not in projects:
                projects["tabular"], _ = render_and_build(workdir, tabular, "service")
            bench_service(projects["tabular"], args.requests)
        if "image" in names:
            for variant in variants:
                bench_image(workdir, variant)
        if "hardening" in names:
            tabular = VARIANTS["tabular"]
            if "tabular" not in projects:
                projects["tabular"], _ = render_and_build(workdir, tabular, "hardening")
            bench_hardening(projects["tabular"], workdir, args.examples, args.crash_rounds)
        if "vision" in names:
            if "vision" not in projects:
                projects["vision"], _ = render_and_build(workdir, VARIANTS["vision"], "vision")
            bench_vision(projects["vision"], args.requests)
        if "llm-rag" in names:
            if "llm-rag" not in projects:
                projects["llm-rag"], _ = render_and_build(workdir, VARIANTS["llm-rag"], "llm-rag")
            bench_llm_rag(projects["llm-rag"])
    finally:
        if args.keep:
            print(f"working directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"results: {RESULTS / 'SUMMARY.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
