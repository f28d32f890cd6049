"""Training: compare model families with cross-validated random search, keep the best.

Each family is one ``Pipeline([("preprocess", ColumnTransformer), ("model", estimator)])``,
so imputation, scaling and encoding are refitted inside every cross-validation fold and
nothing is learnt from validation or test rows. The family that scores best on the
validation split wins; the test split is touched once, to report the winner's metrics.
The winner is saved through ``artefacts``; the command line logs the run to MLflow when
tracking is on.

The families and their search spaces are in ``families.py`` and the budget in
``configs/pipeline.yaml``: change those first; this file is the selection procedure.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.model_selection import (
    KFold,
    ParameterGrid,
    ParameterSampler,
    RandomizedSearchCV,
    StratifiedKFold,
)
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from . import artefacts, threshold
from .artefacts import CandidateScore, ChosenModel, FeatureSchema, Metadata, SearchRun
from .config import Settings
from .data import Dataset, features_and_target, load_dataset, plain
from .families import families, scorer
from .features import build_preprocessor
from .metrics import score
from .model_dir import model_version, template_version

logger = logging.getLogger(__name__)


class ProgressSearch(RandomizedSearchCV):  # type: ignore[misc]  # sklearn ships no type hints
    """RandomizedSearchCV that logs each candidate as soon as its folds are scored.

    ``_run_search`` is scikit-learn's documented hook for custom searches; evaluating one
    candidate per call keeps the same draws and results while reporting progress.
    """

    def _run_search(self, evaluate_candidates: Callable[[list[dict[str, Any]]], Any]) -> None:
        draws = list(
            ParameterSampler(self.param_distributions, self.n_iter, random_state=self.random_state)
        )
        for number, params in enumerate(draws, start=1):
            started = time.perf_counter()
            results = evaluate_candidates([params])
            logger.info(
                "  candidate %d/%d: cv %.4f ± %.4f in %.1f s  %s",
                number,
                len(draws),
                results["mean_test_score"][-1],
                results["std_test_score"][-1],
                time.perf_counter() - started,
                _short(params),
            )


@dataclass(frozen=True)
class Candidate:
    name: str
    cv_score: float
    cv_std: float
    best_params: dict[str, Any]
    val_score: float
    model: Any
    fits: int


@dataclass(frozen=True)
class TrainingResult:
    """The saved model, and what experiment tracking records about the run that made it."""

    model: Any
    metadata: Metadata
    directory: Path
    params: dict[str, Any]
    """The choices that produced the model (family, search budget, chosen parameters)."""
    scores: dict[str, float]
    """Every candidate's cross-validation and validation score."""


def _short(params: dict[str, Any]) -> str:
    return ", ".join(f"{key.removeprefix('model__')}={value}" for key, value in params.items())


def make_pipeline(settings: Settings, estimator: Any) -> Any:
    return Pipeline([("preprocess", build_preprocessor(settings)), ("model", estimator)])


def search_family(name: str, settings: Settings, dataset: Dataset) -> Candidate:
    """Random search over one family on the training split; score the best on validation."""
    factory, space = families(settings.task, [name])[name]
    x_train, y_train = features_and_target(dataset.split.train, settings)
    x_val, y_val = features_and_target(dataset.split.val, settings)
    folds = settings.train.cv_folds
    splitter = (
        StratifiedKFold(folds, shuffle=True, random_state=settings.train.seed)
        if settings.task == "classification"
        else KFold(folds, shuffle=True, random_state=settings.train.seed)
    )
    grid = {f"model__{key}": values for key, values in space.items()}
    ranking = scorer(settings)
    draws = min(settings.train.search_iterations, len(ParameterGrid(grid)))
    logger.info("%s: %d candidates x %d folds", name, draws, folds)
    started = time.perf_counter()
    search = ProgressSearch(
        make_pipeline(settings, factory(settings.train.seed)),
        grid,
        n_iter=draws,
        scoring=ranking,
        cv=splitter,
        # train.n_jobs defaults to 1: on two cores, starting workers (each imports
        # scikit-learn) costs more than it saves here (measured: 28 s with 2, 21 s with 1).
        n_jobs=settings.train.n_jobs,
        random_state=settings.train.seed,
        refit=True,
        error_score="raise",
    )
    # One thread per fit as well: OpenMP/BLAS thread pools on data this small spend more
    # time synchronising than computing (a boosting fit took 1.0 s with 2 threads, 0.35 s
    # with 1, on a busy two-core machine).
    with threadpool_limits(limits=1):
        search.fit(x_train, y_train)
    best = int(search.best_index_)
    val_score = float(ranking(search.best_estimator_, x_val, y_val))
    logger.info(
        "%s: best cv %.4f, validation %.4f (%.1f s)",
        name,
        search.best_score_,
        val_score,
        time.perf_counter() - started,
    )
    return Candidate(
        name=name,
        cv_score=float(search.best_score_),
        cv_std=float(search.cv_results_["std_test_score"][best]),
        best_params={k.removeprefix("model__"): v for k, v in search.best_params_.items()},
        val_score=val_score,
        model=search.best_estimator_,
        fits=draws * folds + 1,  # every draw on every fold, and the refit of the best
    )


def feature_schema(settings: Settings, train: pd.DataFrame) -> list[FeatureSchema]:
    """The input contract the service builds its request model from, with a typical example."""
    schema = []
    for name, spec in settings.data.columns.items():
        values = train[name].dropna()
        if spec.dtype in {"int", "float"}:
            example: Any = float(values.median())
            example = round(example) if spec.dtype == "int" else round(example, 2)
        else:
            example = plain(values.mode().iloc[0])
        categories = spec.categories
        if spec.dtype == "str" and categories is None:
            categories = sorted(str(v) for v in values.unique())
        schema.append(
            FeatureSchema(
                name=name,
                kind="numeric" if spec.dtype in {"int", "float"} else "categorical",
                dtype=spec.dtype,
                nullable=spec.nullable,
                categories=categories,
                minimum=spec.minimum,
                maximum=spec.maximum,
                example=example,
            )
        )
    return schema


def candidate_score(candidate: Candidate) -> CandidateScore:
    return CandidateScore(
        name=candidate.name,
        cv_score=round(candidate.cv_score, 6),
        cv_std=round(candidate.cv_std, 6),
        best_params={k: plain(v) for k, v in candidate.best_params.items()},
        val_score=round(candidate.val_score, 6),
    )


def run(settings: Settings) -> TrainingResult:
    """Search every family, pick the best on validation, report it on test, save it."""
    dataset = load_dataset(settings)
    started = time.perf_counter()
    names = families(settings.task, settings.train.models)
    candidates = [search_family(name, settings, dataset) for name in names]
    winner = max(candidates, key=lambda candidate: candidate.val_score)
    # The winner is kept as fitted on the training split rather than refitted on train +
    # validation: its validation score then describes exactly the saved artefact, and the
    # drift reference is exactly the data it learnt from. The cost is 20% less training
    # data; refit on train + validation if your dataset is small.
    model = winner.model
    searched = time.perf_counter() - started
    classification = settings.task == "classification"
    # Two classes: the label's threshold, chosen on validation like the family itself.
    decision = (
        threshold.for_model(
            model, *features_and_target(dataset.split.val, settings), settings.train.threshold
        )
        if classification
        else None
    )
    x_test, y_test = features_and_target(dataset.split.test, settings)
    test_metrics = score(model, x_test, y_test, settings.task, decision.value if decision else None)
    trained_at = datetime.now(UTC).replace(microsecond=0)
    parts = dataset.split
    metadata = Metadata(
        model_version=model_version(trained_at, dataset.data_hash),
        trained_at=trained_at,
        variant="tabular",
        task=settings.task,
        primary_metric=settings.ranking_metric,
        test_metrics=test_metrics,
        data_hash=dataset.data_hash,
        template_version=template_version(),
        target=settings.data.target,
        classes=[plain(c) for c in model.classes_] if classification else None,
        candidates=[candidate_score(candidate) for candidate in candidates],
        chosen=ChosenModel(
            name=winner.name, params={k: plain(v) for k, v in winner.best_params.items()}
        ),
        features=feature_schema(settings, dataset.split.train),
        threshold=decision,
        search=SearchRun(
            rows={"train": len(parts.train), "validation": len(parts.val), "test": len(parts.test)},
            cv_folds=settings.train.cv_folds,
            fits=sum(candidate.fits for candidate in candidates),
            seconds=round(searched, 1),
        ),
    )
    logger.info(
        "winner: %s (validation %s %.4f); test %s in %.1f s",
        winner.name,
        settings.ranking_metric,
        winner.val_score,
        ", ".join(f"{k}={v:.4f}" for k, v in test_metrics.items()),
        time.perf_counter() - started,
    )
    directory = artefacts.save(settings.paths.models_dir, model, metadata, dataset.split.train)
    logger.info("saved model %s in %s", metadata.model_version, directory)
    return TrainingResult(
        model=model,
        metadata=metadata,
        directory=directory,
        params={
            "model": winner.name,
            "primary_metric": settings.ranking_metric,
            "cv_folds": settings.train.cv_folds,
            "search_iterations": settings.train.search_iterations,
            "seed": settings.train.seed,
            **({"threshold": decision.value} if decision else {}),
            **{f"model.{k}": v for k, v in metadata.chosen.params.items()},
        },
        scores={
            f"{c.name}.{kind}": value
            for c in metadata.candidates
            for kind, value in (("cv_score", c.cv_score), ("val_score", c.val_score))
        },
    )
