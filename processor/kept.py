"""What `watch` keeps from one summary to the next: values made again and again, forgotten when unused."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class Memo(Generic[V]):
    """A dict of values made over and over (each summary of a `watch`): a value asked for in this
    round or the last is not made again; at the end of a round (`turn`), what the round did not ask
    for is forgotten, so what is kept is what the last summary used.

    One dict of [value, round last asked for]: a key found is hashed once (a list row's key is a
    tuple of ~10 values, hashed anew at each lookup; ~90,000 lookups a refresh at 10,000 units)."""

    def __init__(self) -> None:
        self._items: dict[Hashable, list[Any]] = {}  # key → [value, the round it was last asked for in]
        self._round = 0

    def get(self, key: Hashable) -> V | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        entry[1] = self._round
        return entry[0]

    def put(self, key: Hashable, value: V) -> V:
        self._items[key] = [value, self._round]
        return value

    def make(self, key: Hashable, make: Callable[[], V]) -> V:
        """get(key), else put(key, make())."""
        found = self.get(key)
        return found if found is not None else self.put(key, make())

    def turn(self) -> None:
        """A round is over: what it did not ask for is forgotten."""
        now = self._round
        if any(entry[1] != now for entry in self._items.values()):
            self._items = {key: entry for key, entry in self._items.items() if entry[1] == now}
        self._round = now + 1

    def __len__(self) -> int:
        return len(self._items)
