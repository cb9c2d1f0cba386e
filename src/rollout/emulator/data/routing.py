"""Choosing the deployment of a scoring request: live traffic by weight, mirror traffic by percent.

Splits are exact over any window: a smooth weighted round-robin (nginx's) spreads the live picks,
and an even sampler takes exactly the mirror percent of the live requests.
"""

from __future__ import annotations


class SmoothWeightedRoundRobin:
    """nginx's smooth weighted round-robin: over any window of sum(weights) picks, each name is
    picked exactly its weight times, spread as evenly as possible."""

    def __init__(self, weights: dict[str, int]) -> None:
        self.weights = {name: weight for name, weight in sorted(weights.items()) if weight > 0}
        self.total = sum(self.weights.values())
        self._current = dict.fromkeys(self.weights, 0)

    def pick(self) -> str | None:
        if not self.total:
            return None
        best, best_weight = "", None
        for name, weight in self.weights.items():
            current = self._current[name] + weight
            self._current[name] = current
            if best_weight is None or current > best_weight:
                best, best_weight = name, current
        self._current[best] -= self.total
        return best


class EvenSampler:
    """Takes exactly `percent` of calls, evenly spread (the k-th call is taken when
    floor(k * percent / 100) increases)."""

    def __init__(self, target: str, percent: int) -> None:
        self.target = target
        self.percent = percent
        self._calls = 0

    def take(self) -> bool:
        before = self._calls * self.percent // 100
        self._calls += 1
        return self._calls * self.percent // 100 > before


class TrafficRouter:
    """The pickers of every endpoint, rebuilt when an endpoint's traffic maps change."""

    def __init__(self) -> None:
        self._splits: dict[str, tuple[tuple[tuple[str, int], ...], SmoothWeightedRoundRobin]] = {}
        self._mirrors: dict[str, tuple[tuple[tuple[str, int], ...], EvenSampler | None]] = {}

    def pick_live(self, endpoint: str, traffic: dict[str, int]) -> str | None:
        """The deployment that takes the next live request, None when none has traffic."""
        signature = tuple(sorted(traffic.items()))
        entry = self._splits.get(endpoint)
        if entry is None or entry[0] != signature:
            entry = self._splits[endpoint] = (signature, SmoothWeightedRoundRobin(traffic))
        return entry[1].pick()

    def pick_mirror(self, endpoint: str, mirror_traffic: dict[str, int]) -> str | None:
        """The deployment that receives a copy of the next live request, if any."""
        signature = tuple(sorted(mirror_traffic.items()))
        entry = self._mirrors.get(endpoint)
        if entry is None or entry[0] != signature:
            targets = [(name, percent) for name, percent in signature if percent > 0]
            sampler = EvenSampler(*targets[0]) if targets else None
            entry = self._mirrors[endpoint] = (signature, sampler)
        sampler = entry[1]
        return sampler.target if sampler is not None and sampler.take() else None
