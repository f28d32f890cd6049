"""ai-project-template: scaffold portfolio-ready, production-shaped ML projects with Copier."""

__version__ = "0.1.0"
