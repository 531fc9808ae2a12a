"""The grammar fast path's side of a command (``stt.fast_path: grammar``): the closed-vocabulary
recognizer (``assistant.grammar``) hears the command while it is spoken, on a worker thread of
its own, so its guarded result is ready a few ms after the end of speech.

At a pause the recognizer is asked for its result so far (a *peek*): one its guard accepts, with
nothing but quiet since, ends the command as a whole speculative transcript would, and whisper
is never run; one it rejects lets whisper's speculative transcript start, as without the fast
path. A peek ends the recognizer's utterance, so speech that goes on after one is decoded again
from the command's start (only after a rejected peek, or an accepted one the speaker talked
past). What the guard rejects goes to the open-vocabulary transcriber, recheck and all.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from assistant.audio.chunk import BYTES_PER_MS
from assistant.grammar.types import GrammarRecognizer, GrammarResult
from assistant.pipeline.command import Command, Listening
from assistant.vad import FRAME_MS, settled_tail_ms

_LOGGER = logging.getLogger(__name__)

PRIME_MS = 1500.0
"""How much of the audio before the wake word's detection primes the recognizer's level."""


class FastPath:
    """One recognizer, one command at a time, fed on the ``grammar`` worker. At most one feed
    is queued: audio that arrives while one runs waits in the command's own (capped) buffer and
    goes with the next, so the queue cannot grow with the recognizer's lag."""

    def __init__(self, recognizer: GrammarRecognizer, realtime: bool):
        self.recognizer = recognizer
        self.realtime = realtime
        self._current: Listening | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grammar")

    def close(self) -> None:
        self._worker.shutdown(wait=True)

    # -- the audio loop's side -----------------------------------------------------------------
    def begin(self, window: bytes) -> Listening:
        """A command starts; ``window`` is the audio before it (the wake word), or b""."""
        listening = Listening()
        self._current = listening
        prime = window[-int(PRIME_MS * BYTES_PER_MS):]
        self._worker.submit(self._start, listening, prime)
        return listening

    def cancel(self, listening: Listening | None) -> None:
        """The command was dropped (a rejected wake, a time-out): nothing more is decoded."""
        if listening is not None and self._current is listening:
            self._current = None
            self._worker.submit(self._cancel)

    def hear(self, cmd: Command) -> None:
        """After each chunk of the command: hand the recognizer what it has not heard."""
        listening = cmd.grammar
        if listening is None or self._current is not listening:
            return
        if listening.offset is None:
            tail = settled_tail_ms(cmd.loud) if cmd.after_wake else 0.0
            first_heard = next((i for i, h in enumerate(cmd.heard) if h), None)
            if tail is None or first_heard is None:
                return
            # Audio zeroed under the wake chime is no sound the speaker made.
            listening.offset = listening.fed = _frame_bytes(max(tail, first_heard * FRAME_MS))
        if listening.stale:
            if not self._speech_since_peek(cmd):
                return
            listening.stale = False
            listening.taken = False
            listening.feeding = self._worker.submit(
                self._restart, listening, bytes(cmd.audio[listening.offset:]))
            listening.fed = len(cmd.audio)
            return
        if listening.feeding is not None and not listening.feeding.done():
            return
        if len(cmd.audio) > listening.fed:
            listening.feeding = self._worker.submit(self._feed, listening,
                                                    bytes(cmd.audio[listening.fed:]))
            listening.fed = len(cmd.audio)

    def peek(self, cmd: Command) -> bool:
        """A pause: ask for the result so far. True while whisper's speculative transcript
        should wait for the grammar's verdict (``poll``); False when whisper goes ahead as
        without the fast path (no grammar, its audio not begun, or a rejected peek that no
        speech came after)."""
        listening = cmd.grammar
        if listening is None or self._current is not listening or listening.offset is None:
            return False
        if listening.peek is not None and not self._speech_since_peek(cmd):
            return not (listening.peek.done() and not _accepted(listening.peek))
        self.hear(cmd)  # whatever a running feed held back
        if listening.stale:
            return False
        listening.peek = self._worker.submit(self._peek, listening,
                                             bytes(cmd.audio[listening.fed:]))
        listening.fed = listening.peek_bytes = len(cmd.audio)
        listening.stale, listening.taken = True, False
        if not self.realtime:
            listening.peek.result()  # from a file, wait as if the audio had taken its time
        return True

    def poll(self, cmd: Command) -> str | None:
        """Once per chunk: "end" when an accepted peek heard all the speech there is, "reject"
        (once per peek) when whisper's speculation should start, else None."""
        listening = cmd.grammar
        if listening is None or listening.peek is None or listening.taken:
            return None
        if not listening.peek.done():
            return None
        if not _accepted(listening.peek):
            listening.taken = True
            return "reject"
        if self._speech_since_peek(cmd):
            return None
        level_quiet = not cmd.level.in_speech and cmd.level.speech_end_ms <= self._peek_ms(cmd)
        if cmd.endpointer.in_speech and not level_quiet:
            return None
        listening.taken = True
        return "end"

    # -- the turn's side -----------------------------------------------------------------------
    def final(self, cmd: Command, speech_end_ms: float) -> GrammarResult | None:
        """The recognizer's result for the whole command (waits for it, a few ms once it has
        kept up); None when it did not hear this command, or failed."""
        listening = cmd.grammar
        if listening is None or self._current is not listening:
            return None
        speech_bytes = int((speech_end_ms - cmd.endpointer.start_ms) * BYTES_PER_MS)
        if listening.peek is not None and listening.stale and listening.peek_bytes >= speech_bytes:
            done = listening.peek  # nothing but silence came after the peek
        elif listening.offset is None or listening.stale:
            offset = listening.offset if listening.offset is not None else _frame_bytes(cmd.tail_ms())
            done = self._worker.submit(self._batch, listening, bytes(cmd.audio[offset:]))
        else:
            done = self._worker.submit(self._peek, listening, bytes(cmd.audio[listening.fed:]))
        try:
            return done.result()
        except Exception:  # a broken recognizer costs the fast path, not the command
            _LOGGER.exception("grammar recognizer failed; the transcriber decides")
            return None
        finally:
            if self._current is listening:
                self._current = None

    # -- helpers -------------------------------------------------------------------------------
    def _peek_ms(self, cmd: Command) -> float:
        assert cmd.grammar is not None
        return cmd.endpointer.start_ms + cmd.grammar.peek_bytes / BYTES_PER_MS

    def _speech_since_peek(self, cmd: Command) -> bool:
        """Speech after the peek's audio: its result no longer covers the command."""
        speaking = not cmd.level_saw_end() and cmd.endpointer.in_speech
        return speaking or cmd.speech_end_ms() > self._peek_ms(cmd)

    # -- the grammar worker ------------------------------------------------------------------
    def _start(self, listening: Listening, prime: bytes) -> None:
        if prime:
            self.recognizer.prime(prime)
        self.recognizer.start()

    def _cancel(self) -> None:
        self.recognizer.cancel()

    def _feed(self, listening: Listening, pcm: bytes) -> None:
        if self._current is listening:
            self.recognizer.feed(pcm)

    def _restart(self, listening: Listening, pcm: bytes) -> None:
        if self._current is listening:
            self.recognizer.start()
            self.recognizer.feed(pcm)

    def _peek(self, listening: Listening, pcm: bytes) -> GrammarResult | None:
        if self._current is not listening:
            return None  # another command began meanwhile (barge-in): it has the recognizer
        if pcm:
            self.recognizer.feed(pcm)
        return self.recognizer.finish()

    def _batch(self, listening: Listening, pcm: bytes) -> GrammarResult | None:
        if self._current is not listening:
            return None
        self.recognizer.start()
        self.recognizer.feed(pcm)
        return self.recognizer.finish()


def _accepted(future: Future[GrammarResult | None]) -> bool:
    if future.exception() is not None:
        return False
    result = future.result()
    return result is not None and result.accepted


def _frame_bytes(ms: float) -> int:
    return int(ms // FRAME_MS) * int(FRAME_MS * BYTES_PER_MS)
