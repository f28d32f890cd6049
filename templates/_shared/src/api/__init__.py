"""The HTTP service: FastAPI app, request/response schemas, model loading, observability.

The ASGI app is ``api.main:app``; ``api.main.serve`` runs it under uvicorn.
"""
