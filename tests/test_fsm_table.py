"""RFC 1661 §4.1's own table, read from the text vector, against pyppp.fsm.TRANSITIONS."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from pyppp.fsm import TIMER_STATES, TRANSITIONS, Action, Automaton, FsmConfig, FsmEvent, State

VECTOR = Path(__file__).parent / "vectors" / "rfc1661_table.txt"
CELL = re.compile(r"^(?:(?P<actions>[a-z,]+)/)?(?P<next>\d)(?P<marks>[rpx]*)$")


def parse_rfc_table(text: str) -> dict[tuple[State, FsmEvent], str]:
    """Return the RFC's cell text for every (state, event), '-' included."""
    cells: dict[tuple[State, FsmEvent], str] = {}
    columns: list[State] = []
    for line in text.splitlines():
        if line.startswith("#") or "|" not in line:
            continue
        head, _, rest = line.partition("|")
        head = head.strip()
        words = rest.split()
        if head == "" and words and words[0] == "State":
            continue
        if head == "" and words and all(w.isdigit() for w in words):
            columns = [State(int(w)) for w in words]
            continue
        if head in ("", "Events"):
            continue
        event = FsmEvent(head)
        assert len(words) == len(columns), line
        for state, cell in zip(columns, words, strict=True):
            cells[(state, event)] = cell
    return cells


RFC_CELLS = parse_rfc_table(VECTOR.read_text())


def test_vector_covers_all_160_cells() -> None:
    assert len(RFC_CELLS) == len(State) * len(FsmEvent) == 160


@pytest.mark.parametrize(("state", "event"), list(itertools.product(State, FsmEvent)))
def test_cell_matches_rfc(state: State, event: FsmEvent) -> None:
    cell = RFC_CELLS[(state, event)]
    transition = TRANSITIONS.get((state, event))
    if cell == "-":
        assert transition is None
        return
    match = CELL.match(cell)
    assert match, cell
    assert transition is not None
    actions = tuple(Action(a) for a in match["actions"].split(",")) if match["actions"] else ()
    assert transition.actions == actions
    assert transition.next is State(int(match["next"]))
    assert transition.restart == ("r" in match["marks"])
    assert transition.passive == ("p" in match["marks"])


@pytest.mark.parametrize(("state", "event"), list(itertools.product(State, FsmEvent)))
def test_automaton_never_leaves_the_table(state: State, event: FsmEvent) -> None:
    automaton = Automaton(FsmConfig())
    automaton.state = state
    automaton.restart_count = 3
    actions = automaton.handle(event, now=100.0)
    transition = TRANSITIONS.get((state, event))
    if transition is None:
        assert actions == []
        assert automaton.state is state
    else:
        assert automaton.state is transition.next
        assert actions == list(transition.actions)
    if automaton.state not in TIMER_STATES:
        assert automaton.deadline is None
    if Action.SCR in actions or Action.STR in actions:
        assert automaton.deadline == pytest.approx(103.0)


def test_restart_counter_counts_configure_requests() -> None:
    automaton = Automaton(FsmConfig(max_configure=10, restart_interval=3.0))
    assert automaton.handle(FsmEvent.OPEN, 0.0) == [Action.TLS]
    assert automaton.handle(FsmEvent.UP, 0.0) == [Action.IRC, Action.SCR]
    sends, now = 1, 0.0
    while True:
        assert automaton.deadline is not None
        now = automaton.deadline
        event = automaton.timeout_event(now)
        assert event is not None
        actions = automaton.handle(event, now)
        if event is FsmEvent.TO_MINUS:
            assert actions == [Action.TLF]
            break
        assert actions == [Action.SCR]
        sends += 1
    # pppd: ten identical Configure-Requests, 3 s apart, then "timeout sending Config-Requests".
    assert sends == 10
    assert now == pytest.approx(30.0)
    assert automaton.state is State.STOPPED


def test_terminate_uses_max_terminate() -> None:
    automaton = Automaton(FsmConfig(max_terminate=2))
    automaton.state = State.OPENED
    assert automaton.handle(FsmEvent.CLOSE, 0.0) == [Action.TLD, Action.IRC, Action.STR]
    assert automaton.restart_count == 1
    assert automaton.handle(FsmEvent.TO_PLUS, 3.0) == [Action.STR]
    assert automaton.timeout_event(6.0) is FsmEvent.TO_MINUS


def test_passive_suppresses_tlf_on_timeout() -> None:
    automaton = Automaton(FsmConfig(passive=True))
    automaton.state = State.REQ_SENT
    assert automaton.handle(FsmEvent.TO_MINUS, 0.0) == []
    assert automaton.state is State.STOPPED


def test_silent_waits_in_stopped() -> None:
    automaton = Automaton(FsmConfig(silent=True))
    automaton.handle(FsmEvent.OPEN, 0.0)
    assert automaton.handle(FsmEvent.UP, 0.0) == []
    assert automaton.state is State.STOPPED
    # the peer's Configure-Request starts the negotiation
    assert automaton.handle(FsmEvent.RCR_PLUS, 1.0) == [Action.IRC, Action.SCR, Action.SCA]


def test_restart_option_restarts_an_open_link() -> None:
    automaton = Automaton(FsmConfig(restart=True))
    automaton.state = State.OPENED
    assert automaton.handle(FsmEvent.OPEN, 0.0) == [Action.TLD, Action.IRC, Action.SCR]
    assert automaton.state is State.REQ_SENT


def test_zrc_waits_one_restart_period() -> None:
    automaton = Automaton(FsmConfig())
    automaton.state = State.OPENED
    assert automaton.handle(FsmEvent.RTR, 10.0) == [Action.TLD, Action.ZRC, Action.STA]
    assert automaton.deadline == pytest.approx(13.0)
    assert automaton.timeout_event(13.0) is FsmEvent.TO_MINUS


def test_restart_option_from_stopped_starts_again() -> None:
    # pppd fsm_open with OPT_RESTART: lowerdown (Stopped -> Starting, tls), lowerup (irc, scr).
    automaton = Automaton(FsmConfig(restart=True))
    automaton.state = State.STOPPED
    assert automaton.handle(FsmEvent.OPEN, 0.0) == [Action.TLS, Action.IRC, Action.SCR]
    assert automaton.state is State.REQ_SENT
