"""The tabular ML pipeline (data, EDA, training, evaluation) and its prediction service."""
