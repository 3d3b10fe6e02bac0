"""The read side's answer to the loop's commands (governance/usecases/loop.py SignalSource):
is a signal open, and which are open in a period, as of now."""

from __future__ import annotations

from collections.abc import Callable

from domain.signals import SignalFacts
from projections import render
from projections.query import ReadModels
from projections.signals import facts


class ReadSideSignals:
    """Signals as the read models see them now (the views are caught up, or as far as the
    served projector has got: an answer may lag the log by one projector batch)."""

    def __init__(self, models: Callable[[], ReadModels]) -> None:
        self._models = models

    def open_signal(self, key: str) -> SignalFacts | None:
        """The signal if it is open or acknowledged now."""
        found = self._models().loop().open_signal(key)
        return facts(found) if found is not None else None

    def open_signals(self, period: str) -> tuple[int, list[SignalFacts], list[str]]:
        """The position, the period's open and acknowledged signals, and its ranking."""
        view = self._models().loop()
        signals = [facts(s) for s in view.detected()
                   if s["period"] == period and s["state"] in ("open", "acknowledged")]
        ranking = [row["code"] for row in render.ranking(view.state, period)]
        return view.position, signals, ranking
