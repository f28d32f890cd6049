"""Talk to any OpenAI-compatible chat endpoint (OpenAI, Ollama, vLLM, llama.cpp, ...).

:class:`LLMClient` wraps one ``openai.OpenAI`` client built from :class:`LLMConfig`: its
``base_url``, its API key (a placeholder when none is set, which local servers accept; the
``OPENAI_API_KEY`` environment variable is never picked up), ``timeout_s`` and
``max_retries``. The ``openai`` package does the retrying: connection errors, timeouts,
HTTP 408, 409, 429 and 5xx are retried ``max_retries`` times with backoff; other HTTP
errors are not.

Every failure left after that, and an empty reply, raises :class:`GenerationError`. Its
message names the endpoint (without any user:password part of the URL) and the cause, and
never contains the API key.

Edit this when the request sent to the endpoint changes (parameters, headers) or another
failure needs its own message.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit, urlunsplit

import openai
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionChunk,
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionUserMessageParam,
)

from .config import LLMConfig

__all__ = ["GenerationError", "LLMClient"]

# sent when no key is configured: the client requires one, local servers ignore it
_PLACEHOLDER_KEY = "no-key"
# statuses the openai client retries (besides an explicit x-should-retry header)
_RETRIED_STATUSES = frozenset({408, 409, 429})


class GenerationError(RuntimeError):
    """The endpoint gave no usable answer: unreachable, timed out, HTTP error or empty."""


def _safe_url(url: str) -> str:
    """``url`` without a user:password part."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit(parts._replace(netloc=netloc))


def _to_params(messages: Sequence[Mapping[str, str]]) -> list[ChatCompletionMessageParam]:
    params: list[ChatCompletionMessageParam] = []
    for message in messages:
        role, content = message["role"], message["content"]
        if role == "system":
            params.append(ChatCompletionSystemMessageParam(role="system", content=content))
        elif role == "user":
            params.append(ChatCompletionUserMessageParam(role="user", content=content))
        elif role == "assistant":
            params.append(ChatCompletionAssistantMessageParam(role="assistant", content=content))
        else:
            raise ValueError(f"unsupported message role {role!r}")
    return params


class LLMClient:
    """A chat client for one endpoint and model; reuse it (it pools connections)."""

    def __init__(self, config: LLMConfig) -> None:
        if not config.base_url:
            raise ValueError("LLMConfig.base_url is not set: no LLM is configured")
        self.config = config
        self.endpoint = _safe_url(config.base_url)
        key = config.api_key.get_secret_value() if config.api_key is not None else ""
        self._secret = key
        self._client = openai.OpenAI(
            base_url=config.base_url,
            api_key=key or _PLACEHOLDER_KEY,
            timeout=config.timeout_s,
            max_retries=config.max_retries,
        )

    @property
    def generator(self) -> str:
        """What :class:`~answer.Answer.generator` says for this client."""
        return f"llm:{self.config.model}"

    def complete(self, messages: Sequence[Mapping[str, str]]) -> str:
        """The model's whole reply to ``messages`` (stripped); raises GenerationError."""
        try:
            completion = self._client.chat.completions.create(
                model=self.config.model,
                messages=_to_params(messages),
                temperature=self.config.temperature,
                max_tokens=self.config.max_tokens,
            )
        except openai.OpenAIError as exc:
            raise self._error(exc) from exc
        content = completion.choices[0].message.content if completion.choices else None
        text = (content or "").strip()
        if not text:
            raise GenerationError(f"LLM endpoint {self.endpoint} returned an empty reply")
        return text

    def stream(self, messages: Sequence[Mapping[str, str]]) -> Iterator[str]:
        """The reply as text deltas, in order.

        The request is made (and retried) before this returns, so an unreachable endpoint,
        a timeout before the first byte or an HTTP error raises GenerationError here, before
        anything is yielded. A failure while reading, or a reply with no text at all, raises
        GenerationError from the iterator. Closing the iterator early closes the response.
        """
        try:
            chunks = self._client.chat.completions.create(
                model=self.config.model,
                messages=_to_params(messages),
                temperature=self.config.temperature,
                max_tokens=self.config.max_tokens,
                stream=True,
            )
        except openai.OpenAIError as exc:
            raise self._error(exc) from exc
        return self._deltas(chunks)

    def _deltas(self, chunks: openai.Stream[ChatCompletionChunk]) -> Iterator[str]:
        produced = False
        try:
            for chunk in chunks:
                for choice in chunk.choices:  # one choice: n is left at 1
                    if choice.delta.content:
                        produced = True
                        yield choice.delta.content
        except openai.OpenAIError as exc:
            raise self._error(exc, streaming=True) from exc
        finally:
            chunks.close()
        if not produced:
            raise GenerationError(f"LLM endpoint {self.endpoint} streamed an empty reply")

    def _error(self, exc: openai.OpenAIError, *, streaming: bool = False) -> GenerationError:
        retries = self.config.max_retries
        where = f"LLM endpoint {self.endpoint} (model {self.config.model})"
        during = " while streaming the reply" if streaming else ""
        if isinstance(exc, openai.APITimeoutError):
            attempts = 1 if streaming else retries + 1
            cause = f"timed out after {self.config.timeout_s:g} s ({attempts} attempt(s))"
        elif isinstance(exc, openai.APIConnectionError):
            attempts = 1 if streaming else retries + 1
            cause = f"could not be reached ({attempts} attempt(s)): {exc}"
        elif isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            retried = status in _RETRIED_STATUSES or status >= 500
            attempts = retries + 1 if retried else 1
            cause = f"answered HTTP {status} ({attempts} attempt(s)): {exc.message}"
        else:
            cause = f"failed: {type(exc).__name__}: {exc}"
        message = f"{where}{during} {cause}"
        if self._secret:
            message = message.replace(self._secret, "***")
        return GenerationError(message)

    def close(self) -> None:
        """Release the pooled connections."""
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self.close()
