"""Reading, assessing and writing at the same time: stages in threads joined by bounded queues.

pyarrow's Parquet reader and writer and the native core release the GIL, so a reader thread can
decode the next batch and a writer thread encode the previous output while the calling thread
assesses.  The queues hold at most `depth` items, so memory stays a few batches.

Failure in any stage stops the others and surfaces in the calling thread as the original
exception (its class, fields and traceback): ``Prefetch`` re-raises the reader's exception at the
``next()`` that would have returned the failed item; ``Writer`` re-raises the writer's exception at
the next ``put`` or at ``close``.  Each stage counts the seconds it was busy and the seconds its
caller waited for it: where the time of a run went.  Leaving early (an exception in the calling thread, or closing
the iterator) stops and joins the thread before returning, so no stage outlives the call that
started it and nothing is written after the caller gave up.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar, cast

T = TypeVar("T")

_END = object()  # after the last item; carries the stage's exception, if any
_POLL = 0.1  # seconds a blocked put waits before looking whether the other side gave up


def _put(q: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    """Put `item`, unless `stop` is set first; False when it was not put."""
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL)
            return True
        except queue.Full:
            continue
    return False


class Prefetch(Iterator[T]):
    """The items of `source`, read by a thread up to `depth` items ahead of the caller.

    ``busy``: seconds the thread spent producing items; ``waited``: seconds the caller waited for
    one (the reader was the slower stage then).  ``close`` stops and joins the thread."""

    def __init__(self, source: Iterable[T], depth: int = 2) -> None:
        self._q: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self.busy = self.waited = 0.0
        self._thread = threading.Thread(target=self._read, args=(source,), name="deminimis-reader", daemon=True)
        self._thread.start()

    def _read(self, source: Iterable[T]) -> None:
        try:
            items = iter(source)
            while True:
                t0 = time.perf_counter()
                try:
                    item = next(items)
                except StopIteration:
                    break
                finally:
                    self.busy += time.perf_counter() - t0
                if not _put(self._q, (item, None), self._stop):
                    return
            _put(self._q, (_END, None), self._stop)
        except BaseException as exc:  # noqa: BLE001 -- handed to the caller, who re-raises it
            _put(self._q, (_END, exc), self._stop)

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        t0 = time.perf_counter()
        item, exc = self._q.get()
        self.waited += time.perf_counter() - t0
        if item is _END:
            self.close()
            if exc is not None:
                raise exc
            raise StopIteration
        return cast(T, item)

    def close(self) -> None:
        self._done = True
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> Prefetch[T]:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Writer:
    """Calls `write(item)` in a thread for every item ``put``, in order; ``close`` waits for the
    last one.  ``abort`` (on the caller's failure) drops what is queued and joins the thread.
    ``busy``: seconds spent writing; ``waited``: seconds the caller waited for room in the queue
    or, at ``close``, for the last writes (the writer was the slower stage then)."""

    def __init__(self, write: Callable[[Any], None], depth: int = 2) -> None:
        self.busy = self.waited = 0.0
        self._q: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._write = write
        self._thread = threading.Thread(target=self._run, name="deminimis-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                item = self._q.get()
                if item is _END or self._stop.is_set():
                    return
                t0 = time.perf_counter()
                self._write(item)
                self.busy += time.perf_counter() - t0
        except BaseException as exc:  # noqa: BLE001 -- re-raised in the caller's thread
            self._error = exc
            self._stop.set()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, item: Any) -> None:
        self._raise()
        t0 = time.perf_counter()
        put = _put(self._q, item, self._stop)
        self.waited += time.perf_counter() - t0
        if not put:
            self._thread.join()
            self._raise()

    def close(self) -> None:
        """Wait until every item is written; the writer's exception, if any, is raised here."""
        self._raise()
        t0 = time.perf_counter()
        _put(self._q, _END, self._stop)
        self._thread.join()
        self.waited += time.perf_counter() - t0
        self._raise()

    def abort(self) -> None:
        self._stop.set()
        while True:  # unblock a writer waiting on an empty queue
            try:
                self._q.put_nowait(_END)
                break
            except queue.Full:
                try:
                    self._q.get_nowait()
                except queue.Empty:
                    pass
        self._thread.join()
