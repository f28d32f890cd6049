"""Deterministic synthetic sample data, so the whole pipeline runs with no download.

The generators draw every column from a small causal story (contract and tenure drive churn;
area, neighbourhood and age drive price) plus noise, so models have real but imperfect
signal. The same seed always gives the same file, at ``sample.path``. Replace the data by
pointing ``data.path`` in the config at your own CSV or Parquet file (``make init-data``
writes that part of the config); this module then only serves the sample's own tests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from .config import Settings
from .data import write_table

logger = logging.getLogger(__name__)

Generator = Callable[[np.random.Generator, int], pd.DataFrame]


def _with_missing(values: pd.Series, rng: np.random.Generator, rate: float) -> pd.Series:
    """Blank out a random ``rate`` share of ``values`` (missing completely at random)."""
    return values.mask(rng.random(len(values)) < rate)


def churn(rng: np.random.Generator, rows: int) -> pd.DataFrame:
    """Telecom customers and whether they left in the following month (about 1 in 5 did)."""
    contract = rng.choice(
        ["month-to-month", "one-year", "two-year"], size=rows, p=[0.55, 0.25, 0.20]
    )
    internet = rng.choice(["dsl", "fiber", "none"], size=rows, p=[0.35, 0.45, 0.20])
    payment = rng.choice(
        ["electronic-check", "mailed-check", "bank-transfer", "credit-card"],
        size=rows,
        p=[0.35, 0.20, 0.22, 0.23],
    )
    long_contract = contract != "month-to-month"
    tenure = np.clip(rng.gamma(1.6, 14.0, rows) + 12 * long_contract, 0, 120).astype(int)
    base_charge = np.select([internet == "fiber", internet == "dsl"], [75.0, 50.0], 22.0)
    num_products = np.clip(rng.poisson(1.4, rows) + 1, 1, 8)
    monthly = np.round(base_charge + 7.5 * (num_products - 1) + rng.normal(0, 8, rows), 2)
    monthly = np.clip(monthly, 15.0, None)
    total = np.round(monthly * tenure * rng.normal(1.0, 0.05, rows), 2)
    tickets = rng.poisson(0.6 + 0.9 * (internet == "fiber"), rows)
    senior = rng.random(rows) < 0.16
    satisfaction = np.clip(np.round(4.1 - 0.45 * tickets + rng.normal(0, 0.8, rows), 1), 1, 5)

    # Log-odds of churning: a sum of plausible effects plus an unobserved customer mood,
    # so no model can separate the classes perfectly.
    logit = (
        -2.45
        + 1.3 * (contract == "month-to-month")
        - 0.9 * (contract == "two-year")
        - 0.035 * tenure
        + 0.55 * (internet == "fiber")
        + 0.45 * (payment == "electronic-check")
        + 0.25 * tickets
        - 0.45 * (satisfaction - 3.5)
        + 0.012 * (monthly - 60)
        - 0.15 * (num_products - 1)
        + 0.35 * senior
        + rng.normal(0, 0.6, rows)
    )
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)

    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in rng.permutation(rows)],
            "tenure_months": tenure,
            "monthly_charges": monthly,
            "total_charges": pd.Series(total).mask(tenure == 0),
            "contract": contract,
            "payment_method": _with_missing(pd.Series(payment), rng, 0.04),
            "internet_service": internet,
            "support_tickets": tickets,
            "num_products": num_products,
            "senior_citizen": senior,
            "satisfaction_score": _with_missing(pd.Series(satisfaction), rng, 0.30),
            "churned": churned,
        }
    )
    # Billing gaps: a few established accounts also lack a total.
    frame["total_charges"] = _with_missing(frame["total_charges"], rng, 0.02)
    return frame


def house_prices(rng: np.random.Generator, rows: int) -> pd.DataFrame:
    """Houses and their sale price; price grows with area and falls with distance and age."""
    neighborhoods = ["riverside", "old-town", "university", "industrial", "suburbs", "hillside"]
    premium = np.array([1.25, 1.15, 1.05, 0.75, 0.95, 1.35])
    hood_index = rng.choice(len(neighborhoods), size=rows, p=[0.15, 0.15, 0.2, 0.1, 0.3, 0.1])
    living = np.round(np.clip(rng.lognormal(np.log(110), 0.35, rows), 25, 600), 1)
    bedrooms = np.clip(np.round(living / 35 + rng.normal(0, 0.8, rows)), 0, 12).astype(int)
    bathrooms = np.clip(np.round((living / 70 + rng.normal(0, 0.4, rows)) * 2) / 2, 1, 8)
    year_built = np.clip(rng.normal(1975, 28, rows), 1850, 2025).astype(int)
    distance = np.round(rng.gamma(2.0, 3.5, rows), 1)
    lot = np.round(living * rng.uniform(1.5, 6.0, rows) * (1 + distance / 10), 0)
    condition_index = rng.choice(4, size=rows, p=[0.1, 0.3, 0.45, 0.15])
    condition_factor = np.array([0.8, 0.92, 1.0, 1.12])[condition_index]
    garage = rng.random(rows) < np.clip(0.3 + distance / 20, 0, 0.9)

    log_price = (
        np.log(2400 * living)
        + np.log(premium[hood_index])
        + np.log(condition_factor)
        - 0.025 * distance
        + 0.0018 * (year_built - 1975)
        + 0.06 * garage
        + 0.03 * (bathrooms - 1.5)
        + rng.normal(0, 0.16, rows)
    )
    return pd.DataFrame(
        {
            "house_id": [f"H{i:06d}" for i in rng.permutation(rows)],
            "living_area_sqm": living,
            "lot_area_sqm": _with_missing(pd.Series(lot), rng, 0.08),
            "bedrooms": bedrooms,
            "bathrooms": bathrooms,
            "year_built": year_built,
            "neighborhood": np.array(neighborhoods)[hood_index],
            "condition": _with_missing(
                pd.Series(np.array(["poor", "fair", "good", "excellent"])[condition_index]),
                rng,
                0.06,
            ),
            "has_garage": garage,
            "distance_to_center_km": _with_missing(pd.Series(distance), rng, 0.05),
            "price": np.round(np.exp(log_price), -2),
        }
    )


GENERATORS: dict[str, Generator] = {"classification": churn, "regression": house_prices}


def generate(settings: Settings, rows: int | None = None, seed: int | None = None) -> pd.DataFrame:
    """The sample dataset for the configured task (``sample.rows`` rows by default)."""
    rng = np.random.default_rng(settings.sample.seed if seed is None else seed)
    return GENERATORS[settings.task](rng, settings.sample.rows if rows is None else rows)


def write_sample(settings: Settings, *, overwrite: bool = True) -> list[Path]:
    """Write the sample dataset to ``sample.path`` and a "next month" batch for the drift demo.

    The batch comes from the same process with another seed: new customers, no drift, so
    ``drift`` passes on it until you change something. Only the sample's own paths are
    written, never ``data.path`` when it points elsewhere; an existing file is kept when
    ``overwrite`` is false.
    """
    outputs: dict[Path, Callable[[], pd.DataFrame]] = {
        settings.sample.path: lambda: generate(settings),
        settings.sample.new_batch_path: lambda: generate(
            settings, rows=settings.sample.new_batch_rows, seed=settings.sample.seed + 1
        ),
    }
    written: list[Path] = []
    for path, make_frame in outputs.items():
        if path.exists() and not overwrite:
            logger.info("%s exists; keeping it (pass --overwrite to regenerate)", path)
            continue
        frame = make_frame()
        write_table(frame, path)
        logger.info("wrote %s (%d rows)", path, len(frame))
        written.append(path)
    return written
