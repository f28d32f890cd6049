"""The evaluation in words: the README's Results and Decisions numbers, the model card's
Metrics, written from the report ``evaluate.run`` builds (``reports/metrics.json``).

Every number written here is one of the report's, so ``make check`` finds each in
``reports/metrics.json``; the text sits between the README's and the model card's markers
(``reports.write_blocks``), and the same report always gives the same bytes.

Edit this file to change how the results read; ``evaluate.py`` computes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import Settings
from .reports import beside_baseline, cell, figure_link, table, write_results

LABELS = {"accuracy": "accuracy", "f1_macro": "macro-F1 (every class counts the same)"}
BASELINE = "majority class"


def not_beaten(model: dict[str, float], reference: dict[str, float]) -> list[str]:
    """The metrics on which the model does no better than the baseline."""
    return [name for name, value in model.items() if value <= reference[name]]


def baseline_sentence(name: str, model: dict[str, float], reference: dict[str, float]) -> str:
    """What the comparison with the baseline says, in words."""
    behind = not_beaten(model, reference)
    sentence = beside_baseline(name, model, reference, behind, LABELS)
    if "accuracy" in behind:
        sentence += (
            f" Always answering the most frequent class is right on "
            f"{reference['accuracy']:.1%} of test images: the model has learnt no more than "
            "the class mix. Train longer, on more images, or from pretrained weights."
        )
    return sentence


# --- figures ----------------------------------------------------------------------------


def _code(name: str) -> str:
    """A class name as a code span: read as a name, never as a measured number."""
    return "`" + name.replace("`", "'") + "`"


def test_table(report: dict[str, Any]) -> str:
    reference = report["baseline"]["test_metrics"]
    return table(
        ["test metric", "model", f"baseline ({BASELINE})"],
        [[LABELS.get(k, k), v, reference[k]] for k, v in report["test_metrics"].items()],
    )


def per_class_table(report: dict[str, Any]) -> str:
    return table(
        ["class", "precision", "recall", "F1", "test images"],
        [
            [_code(name), row["precision"], row["recall"], row["f1"], row["support"]]
            for name, row in report["per_class"].items()
        ],
    )


def robustness_table(report: dict[str, Any]) -> str:
    robust = report["robustness"]
    return table(
        ["perturbation", "strength", "accuracy", "change from clean"],
        [
            ["none (clean)", "", robust["clean_accuracy"], 0.0],
            *([r["perturbation"], r["strength_shown"], r["accuracy"], r["change"]]
              for r in robust["results"]),
        ],
    )  # fmt: skip


def calibration_sentence(report: dict[str, Any]) -> str:
    calibration = report["calibration"]
    confidence, accuracy = calibration["mean_confidence"], calibration["accuracy"]
    if confidence > accuracy + 0.01:
        verdict = f"above the accuracy, {cell(accuracy)}: the model is over-confident"
    elif confidence < accuracy - 0.01:
        verdict = f"below the accuracy, {cell(accuracy)}: the model is under-confident"
    else:
        verdict = f"close to the accuracy, {cell(accuracy)}"
    return (
        f"Expected calibration error: **{cell(calibration['ece'])}** over "
        f"{calibration['bins']} equal-width confidence bins (0 when, in every bin, the share "
        f"of right answers equals the confidence). The mean confidence, {cell(confidence)}, "
        f"is {verdict}."
    )


def mistakes_sentence(report: dict[str, Any]) -> str:
    wrong = report["misclassified"]
    if not wrong["images"]:
        return "No test image is misclassified."
    shown = (
        "all of them, the most confident first"
        if len(wrong["worst"]) == wrong["images"]
        else f"the {wrong['shown']} the model was surest of"
    )
    return (
        f"{wrong['images']} of {report['test_images']} test images ({wrong['share']:.1%}) are "
        f"misclassified; {shown}:"
    )


def inline_blocks(report: dict[str, Any]) -> dict[str, str]:
    """The few words of the README's Decisions that quote this run."""
    training, calibration = report["training"], report["calibration"]
    robust = report["robustness"]
    rotated = ", ".join(
        f"{cell(r['accuracy'])} rotated {r['strength_shown']}"
        for r in robust["results"]
        if r["perturbation"] == "rotation"
    )
    speed = report["throughput"]
    runtime = (
        f"on this machine, in batches of {speed['batch']}, ONNX Runtime scored "
        f"{speed['onnx_images_per_s']:,.0f} images/s and PyTorch {speed['torch_images_per_s']:,.0f}"
        f" ({speed['ratio']:.2f} times as many)"
        if speed
        else "not measured for this model"
    )
    return {
        "runtime": runtime,
        "network": f"this run reached test accuracy {cell(report['test_metrics']['accuracy'])} "
        f"after {training['epochs']} epochs and {training['train_seconds']:.0f} s of training"
        + (
            f", with {training['weights']:,} weights against "
            f"{training['resnet18_weights']:,} for `resnet18`"
            if training.get("weights")
            else ""
        ),
        "robustness": f"on this run, test accuracy {cell(robust['clean_accuracy'])} upright, "
        f"{rotated}",
        "calibration": f"on this run the expected calibration error is "
        f"{cell(calibration['ece'])} (mean confidence {cell(calibration['mean_confidence'])}, "
        f"accuracy {cell(calibration['accuracy'])})",
    }


def results_markdown(report: dict[str, Any], figure_links: dict[str, str]) -> str:
    training, size = report["training"], report["image_size"]
    baseline = report["baseline"]
    return "\n\n".join(
        [
            f"Model version `{report['model_version']}`, trained `{report['trained_at']}` on "
            f"data `sha256:{report['data_hash'][:12]}`: the `{training['backbone']}` network, "
            f"{training['epochs']} epochs, {size} x {size} pixel input. Scored by ONNX Runtime "
            "on the exported `model.onnx`, as the service scores it.",
            f"Held-out test split ({report['test_images']} images):",
            test_table(report),
            f"The baseline always answers {_code(baseline['class'])}, the most frequent class "
            "of the training split. "
            + baseline_sentence(BASELINE, report["test_metrics"], baseline["test_metrics"]),
            "Per class, on the test split:",
            per_class_table(report),
            figure_links["confusion_matrix"],
            calibration_sentence(report),
            figure_links["reliability_diagram"],
            f"Accuracy on the test images changed as a camera might change them (at the "
            f"network's input size, {size} x {size} pixels; the noise is seeded):",
            robustness_table(report),
            mistakes_sentence(report),
            figure_links["worst_misclassifications"],
            f"Grad-CAM on the last convolution (`{report['grad_cam']['layer']}`): where the "
            "network found the class it predicted, on the first test image of each class.",
            figure_links["grad_cam"],
        ]
    )


def model_card_results(report: dict[str, Any]) -> str:
    """The model card's Metrics: the shipped model beside the baseline, in brief."""
    baseline = report["baseline"]
    return "\n\n".join(
        [
            f"Model `{report['model_version']}` (`{report['training']['backbone']}`), run by "
            f"ONNX Runtime on the held-out test split ({report['test_images']} images):",
            test_table(report),
            baseline_sentence(BASELINE, report["test_metrics"], baseline["test_metrics"]),
            calibration_sentence(report),
            "Accuracy under perturbation:",
            robustness_table(report),
        ]
    )


def write_prose(settings: Settings, report: dict[str, Any], paths: list[Path]) -> None:
    """The README's Results and the numbers in its Decisions; the model card's Metrics."""
    readme = settings.paths.readme
    links = {path.stem: figure_link(path, readme) for path in paths}
    markdown = results_markdown(report, links)
    write_results(readme, markdown, inline_blocks(report), model_card_results(report))
