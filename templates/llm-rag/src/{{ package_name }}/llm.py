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


def _attempts(count: int) -> str:
    return f"{count} attempt" if count == 1 else f"{count} attempts"


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
        try:
            content = completion.choices[0].message.content if completion.choices else None
        except AttributeError as exc:  # a 200 that is not a chat completion, e.g. a web page
            raise self._fail("the reply is not an OpenAI chat completion") from exc
        text = (content or "").strip()
        if not text:
            raise self._fail("empty reply")
        return text

    def stream(self, messages: Sequence[Mapping[str, str]]) -> Iterator[str]:
        """The reply as text deltas, in order.

        The request is made (and retried) before this returns, so an unreachable endpoint,
        a timeout before the first byte or an HTTP error raises GenerationError here, before
        anything is yielded. A failure while reading, or a reply that is empty or only
        whitespace, raises GenerationError from the iterator (after what was received).
        Closing the iterator early closes the response.
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
                for choice in getattr(chunk, "choices", None) or ():  # n is 1: one choice
                    text = choice.delta.content
                    if text:
                        produced = produced or not text.isspace()
                        yield text
        except openai.OpenAIError as exc:
            raise self._error(exc, streaming=True) from exc
        finally:
            chunks.close()
        if not produced:
            raise self._fail("empty reply (streamed)")

    def _error(self, exc: openai.OpenAIError, *, streaming: bool = False) -> GenerationError:
        tries = self.config.max_retries + 1
        root = exc.__cause__
        detail = f"{type(root).__name__}: {root}" if root is not None else str(exc)
        if isinstance(exc, openai.APITimeoutError):
            cause = f"timed out after {self.config.timeout_s:g} s"
            cause += " while streaming the reply" if streaming else f" ({_attempts(tries)})"
        elif isinstance(exc, openai.APIConnectionError):
            if streaming:
                cause = f"connection lost while streaming the reply: {detail}"
            else:
                cause = f"could not connect ({_attempts(tries)}): {detail}"
        elif isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            retried = status in _RETRIED_STATUSES or status >= 500
            cause = f"HTTP {status} ({_attempts(tries if retried else 1)}): {exc.message}"
        else:
            cause = f"{type(exc).__name__}: {exc}"
        return self._fail(cause)

    def _fail(self, cause: str) -> GenerationError:
        message = f"LLM endpoint {self.endpoint} (model {self.config.model}): {cause}"
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
