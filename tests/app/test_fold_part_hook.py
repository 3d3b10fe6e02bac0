"""A fold snapshot's period part loads through the JSON decoder's object hook (decision 232) to
the same initiatives as the recursive `_untag`, on the living demo's fold (every kind of value
the fold holds: decimals, times, dates, ids, tuples, maps, value objects)."""

from __future__ import annotations

import json

from governance.app import Governance
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.company import import_company
from governance.entrypoints.demo_history import apply_history
from governance.stores.readside import in_memory
from projections.codec import CORE, _untag, load_part
from projections.log import ApplicationLog
from projections.loop_source import ReadSideSignals
from projections.projection import FoldSnapshots, replay
from projections.state import PortfolioState


def test_a_part_loads_by_the_hook_as_by_the_recursive_untag(gov: Governance) -> None:
    gov.signal_source = ReadSideSignals(in_memory(gov).read_models)
    company = bundled_company()
    import_company(gov, company)
    apply_history(gov, company)
    state = replay(ApplicationLog(gov), upto=None)
    _, parts = FoldSnapshots(dirty=state.periods).take(state)
    assert set(parts) - {CORE}
    for name, text in parts.items():
        if name == CORE:
            continue
        hooked = PortfolioState()
        load_part(hooked, text)
        untagged = [_untag(item) for item in json.loads(text)]
        assert list(hooked.initiatives.values()) == untagged
        assert hooked.initiatives == {i.id: i for i in state.initiatives.values()
                                      if i.period == name}
