"""CPU-bound work in a child process, so the event loop never waits for it.

Python runs one thread of a process at a time (the global interpreter lock), so work moved
to a worker thread still takes turns with the event loop: while 32 clients posted
100-record batches, ``/health`` took 46-125 ms at the 99th percentile with batches scored in
a thread, and 6 ms with them scored in a child process (``benchmarks/``). Each server worker
therefore owns one child process that runs its CPU-bound jobs, one at a time, while its
event loop keeps answering.

- The child is forked from a server process that has already imported the project (Linux
  and macOS: ``forkserver``), so starting it costs milliseconds, not the imports again.
- A job is a plain function of picklable arguments; its result comes back the same way.
- A child that dies (killed for memory, a crash in native code) fails only the job it was
  running, with a 503 that says so; the next job starts a fresh child.
- A child outlives no server: it exits within a second of the server process that owns it
  (killed, crashed, or gone without shutting its pool down), and the fork server with it.

Machinery shared by every variant of the template: you rarely need to change it.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import HTTPException
from fastapi.concurrency import run_in_threadpool
from threadpoolctl import threadpool_limits

logger = logging.getLogger(__name__)

Result = TypeVar("Result")


def _context(preload: Sequence[str]) -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # Imported once by the fork server; every child it forks starts with them loaded.
        context.set_forkserver_preload(list(preload))
        return context
    return multiprocessing.get_context("spawn")  # Windows: each child imports them itself


OWNER_CHECK_S = 1.0
"""How often a child checks that the server process that owns it is still there."""


def _exit_without_owner(owner: int) -> None:
    """In the child: exit once the process ``owner`` is gone. A child waiting for jobs holds
    both ends of its job queue, so it never sees its owner close it."""
    while True:
        time.sleep(OWNER_CHECK_S)
        try:
            os.kill(owner, 0)  # signal 0: only asks whether the process exists
        # Gone, or its pid reused by another user's process (PermissionError).
        except (ProcessLookupError, PermissionError):
            os._exit(0)


def _initialize(
    owner: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]
) -> None:
    if os.name == "posix":  # on Windows, os.kill(pid, 0) would send CTRL+C, not ask
        threading.Thread(target=_exit_without_owner, args=(owner,), daemon=True).start()
    # One native thread, as in the server process (api.main): BLAS threads left spinning
    # after a large matrix product took the core the rest of a job needed (a retrieval over
    # 10,000 chunks: 72 ms with them, 31 ms without).
    threadpool_limits(limits=1)
    if initializer is not None:
        initializer(*initargs)


def _started() -> None:
    """A job that does nothing: submitting it starts the child process."""


class Offload:
    """One child process for CPU-bound jobs, started by ``start`` with
    ``initializer(*initargs)`` and replaced when it dies."""

    def __init__(
        self,
        initializer: Callable[..., None] | None = None,
        initargs: Sequence[Any] = (),
        preload: Sequence[str] = (),
    ) -> None:
        self._initializer = initializer
        self._initargs = tuple(initargs)
        self._preload = list(preload)
        self._pool: ProcessPoolExecutor | None = None
        self._starting = threading.Lock()

    def start(self) -> ProcessPoolExecutor:
        """The child process's pool: created on first use (and again after a crash), its
        child started at once. Blocking: the first start waits for the fork server to
        import the project, so call it from a thread (``run`` does)."""
        with self._starting:
            if self._pool is None:
                pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=_context(self._preload),
                    initializer=_initialize,
                    initargs=(os.getpid(), self._initializer, self._initargs),
                )
                pool.submit(_started)
                self._pool = pool
            return self._pool

    async def run(self, job: Callable[..., Result], *args: Any) -> Result:
        """``job(*args)`` in the child process; a 503 if the child dies running it."""
        # Starting the child blocks, so it happens in a thread; once it runs, submitting a
        # job only queues it.
        pool = self._pool
        if pool is None:
            pool = await run_in_threadpool(self.start)
        try:
            return await asyncio.wrap_future(pool.submit(job, *args))
        except BrokenProcessPool:
            logger.error("the worker process stopped; starting a new one for the next job")
            with self._starting:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise HTTPException(
                status_code=HTTPStatus.SERVICE_UNAVAILABLE,
                detail="the worker process stopped while handling this request; retry",
                headers={"Retry-After": "1"},
            ) from None

    def close(self) -> None:
        """Stop taking jobs; the child exits once it is done with what it is doing (without
        waiting here: an app shuts down at once even while its child is still starting)."""
        with self._starting:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
