"""The endpoint type system: a small hierarchy modelled on Python's ABCs and numeric tower.

Types are identified by stable integer UIDs (stored in the Gene Pool and in signatures by name). A source of
type S may feed a destination of type D when D is S or one of S's ancestors (*compatible*); feeding a strict
descendant is a *downcast*, allowed only as a fallback when stabilising an embryo.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import cast

from egp.errors import EGPError


class UnknownTypeError(EGPError):
    """A type name or UID is not in the type registry."""


@dataclass(frozen=True, slots=True)
class EGPType:
    """One endpoint type: its name, stable UID, direct parents and whether it can hold values."""

    name: str
    uid: int
    parents: tuple[str, ...]
    abstract: bool
    default: str | None = None
    ancestors: frozenset[int] = field(default=frozenset(), compare=False)
    descendants: frozenset[int] = field(default=frozenset(), compare=False)


class TypeRegistry:
    """All known types, by name and by UID, with precomputed ancestor and descendant sets."""

    def __init__(self, definitions: list[dict[str, object]]) -> None:
        """Build the registry from a list of type definitions (name, uid, parents, abstract, default)."""
        raw: dict[str, dict[str, object]] = {}
        for definition in definitions:
            name = str(definition["name"])
            if name in raw:
                raise ValueError(f"type {name!r} is defined twice")
            raw[name] = definition
        uids = [int(str(d["uid"])) for d in raw.values()]
        if len(set(uids)) != len(uids):
            raise ValueError("type UIDs must be unique")
        parents = {
            name: tuple(str(p) for p in cast("Iterable[object]", d.get("parents", []) or []))
            for name, d in raw.items()
        }
        for name, plist in parents.items():
            for parent in plist:
                if parent not in raw:
                    raise ValueError(f"type {name!r} names unknown parent {parent!r}")

        def ancestors_of(name: str, seen: tuple[str, ...] = ()) -> set[str]:
            if name in seen:
                raise ValueError(f"type hierarchy has a cycle through {name!r}")
            result = {name}
            for parent in parents[name]:
                result |= ancestors_of(parent, (*seen, name))
            return result

        uid_of = {name: int(str(d["uid"])) for name, d in raw.items()}
        ancestor_names = {name: ancestors_of(name) for name in raw}
        self._by_name: dict[str, EGPType] = {}
        self._by_uid: dict[int, EGPType] = {}
        for name, d in raw.items():
            descendants = {other for other, anc in ancestor_names.items() if name in anc}
            default = d.get("default")
            egp_type = EGPType(
                name=name,
                uid=uid_of[name],
                parents=parents[name],
                abstract=bool(d.get("abstract", False)),
                default=None if default is None else str(default),
                ancestors=frozenset(uid_of[a] for a in ancestor_names[name]),
                descendants=frozenset(uid_of[x] for x in descendants),
            )
            self._by_name[name] = egp_type
            self._by_uid[egp_type.uid] = egp_type

    def __contains__(self, key: object) -> bool:
        """True when `key` is a known type name or UID."""
        return key in self._by_name or key in self._by_uid

    def __len__(self) -> int:
        """The number of types."""
        return len(self._by_name)

    def all(self) -> list[EGPType]:
        """Every type, ordered by UID."""
        return sorted(self._by_uid.values(), key=lambda t: t.uid)

    def get(self, key: str | int) -> EGPType:
        """The type with this name or UID; raises UnknownTypeError."""
        try:
            return self._by_name[key] if isinstance(key, str) else self._by_uid[key]
        except KeyError:
            raise UnknownTypeError(f"unknown type {key!r}") from None

    def uid(self, name: str) -> int:
        """The UID of the named type."""
        return self.get(name).uid

    def name(self, uid: int) -> str:
        """The name of the type with this UID."""
        return self.get(uid).name


def _load_registry() -> TypeRegistry:
    text = resources.files("egp.genetic_code").joinpath("data/types.json").read_text(encoding="utf-8")
    return TypeRegistry(json.loads(text)["types"])


TYPES = _load_registry()

# Frozen lookup tables: compatibility checks sit on the hot path of stabilisation.
_ANCESTORS: dict[int, frozenset[int]] = {t.uid: t.ancestors for t in TYPES.all()}


def is_compatible(source: int, destination: int) -> bool:
    """True when a value of type `source` may feed an endpoint of type `destination` (same or ancestor)."""
    return destination in _ANCESTORS[source]


def is_downcast(source: int, destination: int) -> bool:
    """True when `destination` is a strict descendant of `source`: allowed only as a risky fallback."""
    return source != destination and source in _ANCESTORS[destination]
