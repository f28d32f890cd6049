"""The vision variant's own targets, on its default project after `make all`.

- **Training**: `make train` on the sample (data check, training, ONNX export and parity,
  saving) reaches >= 0.90 test accuracy within 90 s on this 2-core CPU; the training loop's
  own seconds are in the details.
- **Inference**: ONNX Runtime scores >= 500 images/s at the sample's input size, in batches,
  and more than PyTorch eager on the same network: both measured by the project itself, in
  the same process, right after the export (`metadata.json`: throughput).
- **Service**: one-image `/predict` p50 within 3x `/health` p50 on the same server and
  connection, rounds interleaved so both see the same load; the image is a real sample PNG.
"""

from __future__ import annotations

import http.client
import json
import statistics
from pathlib import Path

from benchmarks.results import seconds, target, write_result
from benchmarks.service import latencies, start_server
from harness.building import BuiltProject
from harness.probes import Upload, multipart

ACCURACY = 0.90
TRAIN_S = 90.0
ONNX_IMAGES_PER_S = 500.0
PREDICT_OVER_HEALTH = 3.0


def _sample_image(project: BuiltProject) -> Path:
    folder = project.path / str(project.config()["sample"]["path"])
    return sorted(folder.glob("*/*.png"))[0]


def bench_vision(project: BuiltProject, requests: int) -> None:
    trained = project.make("train")
    if not trained.ok:
        raise RuntimeError(trained.describe())
    metadata = json.loads((project.current_model() / "metadata.json").read_text("utf-8"))
    accuracy = float(metadata["test_metrics"]["accuracy"])
    throughput = metadata["throughput"]
    onnx, eager = float(throughput["onnx_images_per_s"]), float(throughput["torch_images_per_s"])

    image = _sample_image(project)
    body, content_type = multipart((Upload("file", image.name, "image/png", path=str(image)),))
    server = start_server(project)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        latencies(connection, "GET", "/health", None, 50)  # warm-up
        latencies(connection, "POST", "/predict", body, 50, content_type)
        health, predict = [], []
        for _ in range(requests // 50):
            health += latencies(connection, "GET", "/health", None, 50)
            predict += latencies(connection, "POST", "/predict", body, 50, content_type)
        connection.close()
    finally:
        server.stop()
        server.log_path.unlink(missing_ok=True)
    ratio = statistics.median(predict) / statistics.median(health)
    write_result(
        "vision",
        [
            target("sample test accuracy after make train", accuracy, ACCURACY, "", at_least=True),
            target("make train on the sample, wall time", trained.seconds, TRAIN_S, "s"),
            target(
                f"ONNX Runtime, batches of {throughput['batch']}",
                onnx,
                ONNX_IMAGES_PER_S,
                "images/s",
                at_least=True,
            ),
            target("ONNX Runtime / PyTorch eager, same run", onnx / eager, 1.0, "x", at_least=True),
            target("one-image /predict p50 / /health p50", ratio, PREDICT_OVER_HEALTH, "x"),
        ],
        {
            "epochs": metadata["epochs"],
            "training_loop_s": metadata["train_seconds"],
            "input_size_px": metadata["preprocessing"]["image_size"],
            "onnx_images_per_s": onnx,
            "torch_images_per_s": eager,
            "parity_max_abs_diff": metadata["parity"]["max_abs_diff"],
            "health_ms": {k: v * 1000 for k, v in seconds(health).items() if k != "n"},
            "predict_ms": {k: v * 1000 for k, v in seconds(predict).items() if k != "n"},
            "requests_per_route": len(health),
            "image_bytes": image.stat().st_size,
        },
    )
    print(
        f"vision: accuracy {accuracy:.4f}, make train {trained.seconds:.1f} s, ONNX "
        f"{onnx:,.0f} images/s vs PyTorch {eager:,.0f} ({onnx / eager:.2f}x), /predict "
        f"{ratio:.2f}x /health"
    )
