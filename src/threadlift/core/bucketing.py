"""Stable assignment: the public bucketing contract.

This module is pure (no I/O). The same expression is written once in SQL, as the
workspace macro ``tl_bucket`` (``sql/workspace/002_assignment_registry.sql``), for batch
assignment; golden vectors in ``tests/golden/assignment_cases.json`` keep every
implementation identical.

    bucket(salt, unit_id) = int(hex(md5(utf8(salt + ":" + unit_id)))[0:15], 16) mod 10000

Arm boundaries are computed with exact rational arithmetic (:class:`fractions.Fraction`),
so a boundary never lands one bucket off because of binary floating point (with floats,
``10000 * (0.7 + 0.1)`` is ``7999.999…``). A float weight is read as the shortest decimal
that round-trips it, i.e. as the number written in the experiment file.

Guarantees of the boundaries (tested with hypothesis in ``tests/core/test_bucketing.py``):

* The holdout is ordered first, so it owns ``[0, floor(10000 * h / W))``: its range
  depends only on its *share* ``h / W`` of the total weight. Any change to the
  treatment arms that keeps that share (re-splitting the treatment weights, adding or
  removing a treatment arm carved out of the others, rescaling every weight) never
  moves a contact into or out of the holdout.
* Growing a treatment weight while the holdout weight stays the same lowers the holdout
  share, so the holdout shrinks from its top end: a contact in the new holdout was in the
  old one, and no treatment contact ever moves into the holdout. (Keeping every holdout
  contact where it is requires keeping the holdout share.)
* A contact's arm depends only on the salt, its own id and the boundaries, never on who
  else is in the audience.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

BUCKETS = 10_000
"""Number of buckets; arm widths are expressed in basis points of this range."""

Weight = int | float | Decimal | Fraction | str
"""A weight as written: ints, decimals and fractions are exact; floats are read as decimals."""


def bucket(salt: str, unit_id: str) -> int:
    """Return the bucket in ``[0, 10000)`` of ``unit_id`` under ``salt``.

    Args:
        salt: The experiment's (or layer's, or global holdout's) salt; may be empty.
        unit_id: The unit of randomisation, normally ``contact_id``. No Unicode
            normalisation is applied: the UTF-8 bytes are hashed as given.

    Returns:
        The first 15 hex digits of ``md5(salt + ":" + unit_id)`` modulo 10000.

    Examples:
        >>> bucket("a", "b")
        8772
        >>> bucket("", "US.13491208655302741918")
        3340
    """
    digest = hashlib.md5(f"{salt}:{unit_id}".encode(), usedforsecurity=False).hexdigest()
    return int(digest[:15], 16) % BUCKETS


def exact_weight(weight: Weight) -> Fraction:
    """``weight`` as an exact fraction; a float is read as the decimal that prints it.

    Examples:
        >>> exact_weight(0.1)
        Fraction(1, 10)
        >>> exact_weight("2.5")
        Fraction(5, 2)
    """
    if isinstance(weight, bool):
        raise TypeError("a weight must be a number, not a boolean")
    if isinstance(weight, float):
        if not math.isfinite(weight):
            raise ValueError(f"a weight must be finite (got {weight})")
        return Fraction(repr(weight))
    return Fraction(weight)


def basis_points(share: Weight) -> int:
    """Buckets covered by a share given in percent: ``floor(100 * share)``.

    Examples:
        >>> basis_points(5)
        500
        >>> basis_points(0.3)
        30
    """
    return math.floor(exact_weight(share) * 100)


@dataclass(frozen=True)
class ArmRange:
    """An arm and the half-open bucket range ``[start, stop)`` it owns."""

    name: str
    start: int
    stop: int
    holdout: bool = False

    @property
    def width(self) -> int:
        """Number of buckets the arm owns."""
        return self.stop - self.start

    def __contains__(self, bucket_value: object) -> bool:
        return isinstance(bucket_value, int) and self.start <= bucket_value < self.stop


def arm_ranges(arms: Sequence[tuple[str, Weight, bool]]) -> list[ArmRange]:
    """Bucket ranges of arms given as ``(name, weight, holdout)``, holdout first.

    Arms are ordered holdout first, then the others as declared. With weights ``w`` in
    that order and running sums ``c`` (``c[0] = 0``), arm ``i`` owns
    ``[floor(10000 * c[i-1] / W), floor(10000 * c[i] / W))``, computed exactly.

    Raises:
        ValueError: when there is no arm or a weight is not positive.

    Examples:
        >>> [(r.name, r.start, r.stop) for r in arm_ranges([("t", 90, False), ("h", 10, True)])]
        [('h', 0, 1000), ('t', 1000, 10000)]
        >>> [(r.start, r.stop) for r in arm_ranges([("a", 0.7, False), ("b", 0.1, False), ("c", 0.2, False)])]
        [(0, 7000), (7000, 8000), (8000, 10000)]
    """
    if not arms:
        raise ValueError("at least one arm is needed")
    ordered = [a for a in arms if a[2]] + [a for a in arms if not a[2]]
    weights = [exact_weight(weight) for _, weight, _ in ordered]
    for (name, _, _), weight in zip(ordered, weights, strict=True):
        if weight <= 0:
            raise ValueError(f"arm {name!r}: weight must be greater than 0 (got {weight})")
    total = sum(weights, Fraction(0))
    ranges: list[ArmRange] = []
    running = Fraction(0)
    start = 0
    for (name, _, holdout), weight in zip(ordered, weights, strict=True):
        running += weight
        stop = math.floor(BUCKETS * running / total)
        ranges.append(ArmRange(name=name, start=start, stop=stop, holdout=holdout))
        start = stop
    return ranges


def arm_for_bucket(ranges: Sequence[ArmRange], bucket_value: int) -> str:
    """Name of the arm whose range holds ``bucket_value``.

    Raises:
        ValueError: when no range holds it.
    """
    for arm_range in ranges:
        if bucket_value in arm_range:
            return arm_range.name
    raise ValueError(f"bucket {bucket_value} is outside [0, {BUCKETS})")


def assign_arm(salt: str, unit_id: str, ranges: Sequence[ArmRange]) -> str:
    """The arm of ``unit_id``: :func:`bucket` then :func:`arm_for_bucket`."""
    return arm_for_bucket(ranges, bucket(salt, unit_id))
