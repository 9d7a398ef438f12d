"""Fault injection: make chosen LINE API endpoints fail, slow down, or drop responses."""

from __future__ import annotations

import random
from dataclasses import dataclass

KINDS = ("429", "429-quota", "500", "502", "503", "504", "latency", "drop")


class FaultSpecError(ValueError):
    pass


@dataclass
class Fault:
    id: int
    kind: str
    endpoint: str  # an endpoint name ("push", "multicast", ...) or "*"
    count: int | None = None  # remaining hits; None: use ``fraction`` forever
    fraction: float | None = None
    latency_ms: int = 0
    hits: int = 0

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "endpoint": self.endpoint,
            "count": self.count,
            "fraction": self.fraction,
            "latencyMs": self.latency_ms,
            "hits": self.hits,
        }

    def matches(self, endpoint: str) -> bool:
        return self.endpoint in ("*", endpoint) and (self.count is None or self.count > 0)

    def fire(self) -> bool:
        """Decide whether this request is hit, and consume one count if so."""
        if self.count is not None:
            self.count -= 1
        elif self.fraction is not None and random.random() >= self.fraction:
            return False
        self.hits += 1
        return True


def parse_fault(data: dict, fault_id: int) -> Fault:
    kind = str(data.get("kind", ""))
    if kind not in KINDS:
        raise FaultSpecError(f"kind must be one of {', '.join(KINDS)}")
    count, fraction = data.get("count"), data.get("fraction")
    if count is None and fraction is None:
        count = 1
    if count is not None and (not isinstance(count, int) or count < 0):
        raise FaultSpecError("count must be a non-negative integer")
    if fraction is not None and not (isinstance(fraction, (int, float)) and 0 <= fraction <= 1):
        raise FaultSpecError("fraction must be a number between 0 and 1")
    latency = data.get("latencyMs", 1000 if kind == "latency" else 0)
    if not isinstance(latency, (int, float)) or latency < 0:
        raise FaultSpecError("latencyMs must be a non-negative number")
    return Fault(
        fault_id,
        kind,
        str(data.get("endpoint") or "*"),
        count,
        None if count is not None else float(fraction),
        int(latency),
    )


class FaultSet:
    def __init__(self):
        self.faults: list[Fault] = []
        self._next_id = 1

    def add(self, data: dict) -> Fault:
        fault = parse_fault(data, self._next_id)
        self._next_id += 1
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    def remove(self, fault_id: int) -> bool:
        before = len(self.faults)
        self.faults = [f for f in self.faults if f.id != fault_id]
        return len(self.faults) != before

    def pick(self, endpoint: str) -> tuple[int, Fault | None]:
        """Return (total latency in ms, the first failing fault that fires or None)."""
        if not self.faults:
            return 0, None
        latency, failure = 0, None
        for fault in self.faults:
            if not fault.matches(endpoint):
                continue
            if fault.kind == "latency":
                if fault.fire():
                    latency += fault.latency_ms
            elif failure is None and fault.fire():
                failure = fault
                latency += fault.latency_ms
        return latency, failure

    def to_json(self) -> list[dict]:
        return [f.to_json() for f in self.faults]
