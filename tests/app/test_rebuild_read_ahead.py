"""A rebuild reads the log a page ahead (decision 281): the same events, in order, as the
plain reader; a failed select is raised to the reader; a reader that stops stops the thread."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from governance.stores.readside import ReadAheadLog
from projections.log import ApplicationLog
from tests.app.test_projections import a_busy_history
from tests.builders import World


def _read(log: ApplicationLog, after: int) -> list[tuple[int, str, bytes | None]]:
    return [(position, repr(event), stored) for position, event, stored
            in log.read_stored(after=after)]


def _read_ahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "rebuild-read-ahead"]


@pytest.mark.parametrize("page", [1, 4, 7, 1000])
def test_read_ahead_yields_what_the_plain_reader_yields(world: World, page: int) -> None:
    a_busy_history(world)
    total = world.gov.position()
    assert total > 20
    for after in (0, 5, total - 1, total):
        assert (_read(ReadAheadLog(world.gov, page=page), after)
                == _read(ApplicationLog(world.gov, page=page), after))
    assert not _read_ahead_threads()


def test_a_failed_select_is_raised_to_the_reader(world: World,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    a_busy_history(world)
    select = world.gov.recorder.select_notifications
    calls: list[int] = []

    def failing(**kwargs: Any) -> Any:
        calls.append(kwargs["start"])
        if len(calls) == 3:
            raise ConnectionError("server went away")
        return select(**kwargs)

    monkeypatch.setattr(world.gov.recorder, "select_notifications", failing)
    read: list[int] = []
    with pytest.raises(ConnectionError, match="server went away"):
        for position, _, _ in ReadAheadLog(world.gov, page=4).read_stored(after=0):
            read.append(position)
    assert read == list(range(1, 9))  # the two pages before the failure, then the error
    assert not _read_ahead_threads()


def test_a_reader_that_stops_early_stops_the_thread(world: World) -> None:
    a_busy_history(world)
    events = ReadAheadLog(world.gov, page=2).read_stored(after=0)
    assert next(events)[0] == 1
    events.close()  # the caller stops (an error in the fold, say)
    assert not _read_ahead_threads()
