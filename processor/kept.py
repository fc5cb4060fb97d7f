"""What `watch` keeps from one summary to the next: values made again and again, forgotten when unused."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Memo(Generic[V]):
    """A dict of values made over and over (each summary of a `watch`): a value asked for in this
    round or the last is not made again; at the end of a round (`turn`), what the round did not ask
    for is forgotten, so what is kept is what the last summary used."""

    def __init__(self) -> None:
        self._last: dict[Hashable, V] = {}
        self._now: dict[Hashable, V] = {}

    def get(self, key: Hashable) -> V | None:
        found = self._now.get(key)
        if found is None:
            found = self._last.get(key)
            if found is not None:
                self._now[key] = found
        return found

    def put(self, key: Hashable, value: V) -> V:
        self._now[key] = value
        return value

    def make(self, key: Hashable, make: Callable[[], V]) -> V:
        """get(key), else put(key, make())."""
        found = self.get(key)
        return found if found is not None else self.put(key, make())

    def turn(self) -> None:
        """A round is over: what it did not ask for is forgotten."""
        self._last, self._now = self._now, {}

    def __len__(self) -> int:
        return len(self._last) + len(self._now)
