"""The evaluation in words: the README's Results and Decisions numbers and the model card's
Metrics, written from the report ``evaluate.run`` builds (``reports/metrics.json``).

Every number written here is one of the report's, so ``make check`` finds each in
``reports/metrics.json``; the text sits between the README's and the model card's markers
(``reports.write_blocks``), and the same report always gives the same bytes.

Edit this file to change how the results read; ``evaluate.py`` computes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import MODES, Settings
from .reports import beside_baseline, cell, figure_link, table, write_results

COLUMNS = ("hit@1", "hit@3", "hit@5", "mrr", "ndcg@5")
# In code spans: `make check` reads the digits of prose in the blocks as stated numbers.
LABELS = {name: f"`{name}`" for name in COLUMNS} | {"mrr": "MRR"}
BASELINE = "BM25"


def ranking_table(report: dict[str, Any]) -> str:
    rows = [
        [
            f"{mode} (baseline)" if mode == report["baseline"] else mode,
            *(report["retrieval"][mode][name] for name in COLUMNS),
        ]
        for mode in MODES
    ]
    headers = ["retrieval", *(LABELS[name] for name in COLUMNS)]
    return table(headers, rows)


def baseline_sentence(report: dict[str, Any]) -> str:
    mode = report["mode"]
    if mode == report["baseline"]:
        return f"The service retrieves with `{mode}` itself, the baseline."
    model, reference = report["retrieval"][mode], report["retrieval"][report["baseline"]]
    behind = [name for name in COLUMNS if model[name] <= reference[name]]
    return f"The service retrieves with `{mode}`. " + beside_baseline(
        BASELINE, model, reference, behind, LABELS
    ).replace("The model", f"`{mode}`")


def abstention_sentence(report: dict[str, Any]) -> str:
    found = report["abstention"]
    if not found["unanswerable"]:
        return "The evaluation set has no unanswerable question: abstention is not measured."
    precision = found["precision"]
    return (
        f"Abstention, below a best cosine similarity of {cell(found['threshold'], 2)}: the "
        f"service declined {found['caught']} of the {found['unanswerable']} questions the "
        f"documents cannot answer, and {found['answerable_declined']} of the "
        f"{report['questions']['answerable']} they can"
        + (f" (precision {cell(precision)})." if precision is not None else ".")
    )


def sweep_table(report: dict[str, Any]) -> str:
    """Abstention at the configured threshold and at its neighbours."""
    found = report["abstention"]
    rows = sorted(
        [
            *found.get("sweep", []),
            {
                "threshold": found["threshold"],
                "caught": found["caught"],
                "answerable_declined": found["answerable_declined"],
            },
        ],
        key=lambda row: row["threshold"],
    )
    return table(
        ["declined below", "unanswerable declined", "answerable declined"],
        [
            [
                f"{cell(row['threshold'], 2)}"
                + (" (configured)" if row["threshold"] == found["threshold"] else ""),
                row["caught"],
                row["answerable_declined"],
            ]
            for row in rows
        ],
    )


def answers_sentence(report: dict[str, Any]) -> str:
    answers = report["answers"]
    grounded = answers["groundedness"]
    return (
        f"Answers by `{answers['generator']}` on the {answers['answered']} answerable questions "
        "it did not decline: "
        + (
            f"groundedness {cell(grounded)} (share of answer sentences whose words are in the "
            "chunks they cite)"
            if grounded is not None
            else "no answer to measure"
        )
        + ". Latency (retrieval per mode, whole answers) changes from run to run, so it is "
        "in `reports/metrics.json` (`retrieval_latency_ms`, `answers.latency_ms`), not here: "
        "rewriting these Results from the same index changes nothing."
    )


def results_markdown(report: dict[str, Any], figure_links: dict[str, str]) -> str:
    counts = report["questions"]
    return "\n\n".join(
        [
            f"Model version `{report['model_version']}` (the index), built "
            f"`{report['trained_at']}` from {report['chunks']:,} chunks; evaluated on "
            f"{counts['answerable']} questions the documents answer and {counts['unanswerable']}"
            " they do not. A hit is a retrieved chunk holding the question's passage.",
            ranking_table(report),
            baseline_sentence(report),
            abstention_sentence(report),
            sweep_table(report) if report["abstention"]["unanswerable"] else "",
            figure_links.get("abstention", ""),
            answers_sentence(report),
        ]
    )


def inline_blocks(report: dict[str, Any]) -> dict[str, str]:
    """The few words of the README's Decisions that quote this run."""
    dense, hybrid = report["retrieval"]["dense"], report["retrieval"]["hybrid"]
    bm25 = report["retrieval"]["bm25"]
    return {
        "hybrid": f"on this run `hit@5` is {cell(hybrid['hit@5'])} hybrid, {cell(dense['hit@5'])}"
        f" dense and {cell(bm25['hit@5'])} BM25",
        "abstain": f"on this run it declined {report['abstention']['caught']} of "
        f"{report['abstention']['unanswerable']} unanswerable questions and "
        f"{report['abstention']['answerable_declined']} answerable ones",
    }


def model_card_results(report: dict[str, Any]) -> str:
    return "\n\n".join(
        [
            f"Index `{report['model_version']}`, on the evaluation set:",
            ranking_table(report),
            baseline_sentence(report),
            abstention_sentence(report),
            answers_sentence(report),
        ]
    )


def write_prose(settings: Settings, report: dict[str, Any], paths: list[Path]) -> None:
    """The README's Results and the numbers in its Decisions; the model card's Metrics."""
    readme = settings.paths.readme
    links = {path.stem: figure_link(path, readme) for path in paths}
    markdown = results_markdown(report, links)
    write_results(readme, markdown, inline_blocks(report), model_card_results(report))
