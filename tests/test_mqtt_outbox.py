"""The bounded queue between the assistant and the broker: its two drop policies (pure)."""

from __future__ import annotations

from assistant.mqtt.outbox import Outbox, Outgoing


def test_retained_keeps_only_the_newest_per_topic_and_drops_the_oldest_topic() -> None:
    box = Outbox(retained_max=3, transient_max=2)
    for value in ("ON", "OFF", "ON"):
        assert box.put(Outgoing("a/state", value, retain=True))
    assert len(box) == 1 and box.dropped == 0
    for topic in ("b", "c"):
        box.put(Outgoing(topic, "1", retain=True))
    assert not box.put(Outgoing("d", "1", retain=True))  # a 4th topic: "a" is dropped
    assert box.dropped == 1
    assert [box.get(0).topic for _ in range(3)] == ["b", "c", "d"]  # type: ignore[union-attr]
    assert box.get(0) is None


def test_transient_is_fifo_drops_the_oldest_and_goes_first() -> None:
    box = Outbox(retained_max=10, transient_max=2)
    box.put(Outgoing("s", "state", retain=True))
    for n in range(3):
        box.put(Outgoing("cmd", str(n)))
    assert box.dropped == 1
    got = [box.get(0) for _ in range(3)]
    assert [(m.topic, m.payload) for m in got if m] == [("cmd", "1"), ("cmd", "2"), ("s", "state")]


def test_put_back_keeps_a_newer_state_and_the_order_of_commands() -> None:
    box = Outbox()
    old = Outgoing("a", "OFF", retain=True)
    box.put(Outgoing("a", "ON", retain=True))
    box.put_back(old)  # a newer one waits already: the old one is not resent
    assert box.get(0) == Outgoing("a", "ON", retain=True)
    box.put(Outgoing("cmd", "2"))
    box.put_back(Outgoing("cmd", "1"))
    assert [box.get(0).payload, box.get(0).payload] == ["1", "2"]  # type: ignore[union-attr]
    box.close()
    assert box.get(1.0) is None
