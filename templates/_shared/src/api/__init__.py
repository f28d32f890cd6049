"""The HTTP service: the FastAPI app, its routes, the model it serves, errors and telemetry.

The ASGI app is ``api.main:app``; ``api.main.serve`` runs it under uvicorn. This project's
own part is ``predictor.py``, ``payloads.py`` and ``routes/predict.py``; the rest is shared
by every project made from the template.
"""
