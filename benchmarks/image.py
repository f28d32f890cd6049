"""Serving image size: each variant's image, built by its own `make docker-build` on the
shared base image, and what takes the room inside it.

The size is what podman reports for the image (every layer, the base included); the
breakdown lists the largest installed packages of the image's virtualenv, so a regression
names its cause. The base image here is `localhost/pybase:3.11` (Debian's Python, built by
the shared OCI script); on a registry's `python:3.x-slim` the total differs by the bases'
difference.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from benchmarks.pipeline import render_and_build
from benchmarks.results import target, write_result
from harness.containers import BASE_IMAGE, Engine, build_image, find_engine, image_size
from harness.variants import Variant

# From the issues: tabular's image was 852 MB before dependencies were split by role.
TARGETS_MB = {"tabular": 600.0, "vision": 450.0}

# Sizes of the virtualenv's top-level entries in site-packages, in MB, largest first.
_SITE_PACKAGES_SIZES = """
import os, site, json
root = site.getsitepackages()[0]
sizes = {}
for entry in os.scandir(root):
    total = 0
    for folder, _, files in os.walk(entry.path) if entry.is_dir() else [(root, [], [entry.name])]:
        total += sum(os.path.getsize(os.path.join(folder, name)) for name in files)
    sizes[entry.name] = total
print(json.dumps(sizes))
"""


def site_packages(engine: Engine, tag: str) -> dict[str, float]:
    listed = engine.run("run", "--rm", "--entrypoint", "python3", tag, "-c", _SITE_PACKAGES_SIZES)
    if listed.returncode != 0:
        raise RuntimeError(f"cannot list {tag}'s packages: {listed.stderr.strip()}")
    sizes: dict[str, int] = json.loads(listed.stdout)
    return {name: round(size / 1e6, 1) for name, size in sorted(sizes.items(), key=lambda i: -i[1])}


def base_size(engine: Engine) -> int:
    return image_size(engine, BASE_IMAGE)


def bench_image(workdir: Path, variant: Variant) -> None:
    engine, reason = find_engine()
    if engine is None:
        raise RuntimeError(f"no container engine: {reason}")
    project, _ = render_and_build(workdir, variant, f"{variant.name}-image")
    tag = f"localhost/aipt-bench-{uuid.uuid4().hex[:8]}:latest"
    built = build_image(project, engine, tag, workdir)
    if not built.ok:
        raise RuntimeError(built.describe())
    try:
        size_mb = image_size(engine, tag) / 1e6
        packages = site_packages(engine, tag)
        base_mb = base_size(engine) / 1e6
    finally:
        engine.run("rmi", "--force", tag)
    targets = []
    if variant.name in TARGETS_MB:
        targets.append(
            target(f"{variant.name} serving image", size_mb, TARGETS_MB[variant.name], "MB")
        )
    top = dict(list(packages.items())[:15])
    write_result(
        f"image-{variant.name}",
        targets,
        {
            "image_mb": round(size_mb, 1),
            "base_image": BASE_IMAGE,
            "base_image_mb": round(base_mb, 1),
            "site_packages_mb": round(sum(packages.values()), 1),
            "largest_packages_mb": top,
            "build_s": round(built.seconds, 1),
        },
    )
    print(
        f"image {variant.name}: {size_mb:.0f} MB (base {base_mb:.0f} MB, site-packages "
        f"{sum(packages.values()):.0f} MB; largest: "
        + ", ".join(f"{name} {mb:.0f}" for name, mb in list(top.items())[:6])
        + ")"
    )
