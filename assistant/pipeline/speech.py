"""Speech to text for a command: speculative transcripts at pauses, and the final one."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

from assistant.audio.chunk import BYTES_PER_MS
from assistant.pipeline.command import Command
from assistant.pipeline.fast_path import FastPath
from assistant.pipeline.stages import SpeechResult, Stages
from assistant.stt import Transcript


class Speech:
    """Transcribes on a worker thread of its own, one transcript at a time."""

    def __init__(self, stages: Stages, clock: Callable[[], float], realtime: bool,
                 fast: FastPath | None = None):
        self.s = stages
        self.clock = clock
        self.realtime = realtime
        self.fast = fast
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stt")

    def close(self) -> None:
        self._worker.shutdown(wait=True)

    def speculate(self, cmd: Command) -> None:
        """A pause: transcribe the command so far, if that can still help."""
        last = cmd.speculative
        if last is not None and (cmd.speculative_bytes == len(cmd.audio) or (
                cmd.heard_all() and (not last.done() or self.whole_command(last)))):
            # The last one heard all the speech there is and is (or may yet be) a whole
            # command: a new transcript would only replace a good one. One that is not a command
            # is heard again with the longer silence after it, which whisper reads better.
            cmd.speculative_due = False
            return
        # One transcript at a time: a queue of stale ones (a pause between every word in noise)
        # would make the final transcript wait behind all of them. A queued one is replaced; a
        # running one is left to finish (the next pause, or the final transcript, follows it).
        if last is not None and not last.done() and not last.cancel():
            cmd.speculative_due = True
            return
        cmd.speculative_due = False
        cmd.speculative_bytes = len(cmd.audio)
        cmd.speculative = self._worker.submit(self.transcribe, cmd.spoken())
        if not self.realtime:
            # From a file fed as fast as possible, wait as if the audio had taken its time;
            # otherwise the loop would race past the pause before the transcript exists.
            cmd.speculative.result()

    def complete(self, cmd: Command) -> bool:
        """A finished speculative transcript that is a whole command ends listening early."""
        future = cmd.speculative
        if future is None or not future.done():
            return False
        # Nothing but quiet since the snapshot: by the signal level, or by the VAD.
        level_quiet = not cmd.level.in_speech and cmd.level.speech_end_ms <= cmd.snapshot_ms
        if cmd.endpointer.in_speech and not level_quiet:
            return False
        return self.whole_command(future)

    def whole_command(self, future: Future[SpeechResult]) -> bool:
        text = future.result().text
        return bool(text) and self.s.is_complete_command(text)

    def transcribe(self, pcm: bytes) -> SpeechResult:
        started = self.clock()
        heard = self.s.transcriber.transcribe(pcm, prompt=self.s.stt_prompt)
        return self._result(heard, pcm, started)

    def _result(self, heard: Transcript, pcm: bytes, started: float) -> SpeechResult:
        return SpeechResult(heard, self.s.normalize(heard.text.strip()), pcm,
                            (self.clock() - started) * 1000.0, stt=self.s.stt_name)

    def _recheck(self, recheck: Callable[[bytes, Transcript], Transcript],
                 result: SpeechResult) -> SpeechResult:
        """The final transcript only: a speculative one is of audio that may not be over."""
        started = self.clock()
        checked = self._result(recheck(result.pcm, result.heard), result.pcm, started)
        checked.stt_ms += result.stt_ms
        return checked

    def final(self, cmd: Command, speech_end_ms: float) -> SpeechResult:
        """The grammar's sentence when its guard accepts it (no transcriber, no recheck: the
        guard has weighed it against the audio); else the transcriber's, reusing the speculative
        transcript when nothing but silence came after it."""
        waited = self.clock()
        grammar = self.fast.final(cmd, speech_end_ms) if self.fast is not None else None
        if grammar is not None and grammar.accepted:
            if cmd.speculative is not None:
                cmd.speculative.cancel()  # queued behind nothing useful any more
            return SpeechResult(Transcript(grammar.text), self.s.normalize(grammar.text),
                                cmd.spoken(), grammar.finish_ms,
                                (self.clock() - waited) * 1000.0, "grammar", grammar)
        return replace(self._transcribed(cmd, speech_end_ms), grammar=grammar)

    def _transcribed(self, cmd: Command, speech_end_ms: float) -> SpeechResult:
        speech_bytes = int((speech_end_ms - cmd.endpointer.start_ms) * BYTES_PER_MS)
        future = cmd.speculative
        if future is None or cmd.speculative_bytes < speech_bytes:
            future = self._worker.submit(self.transcribe, cmd.spoken())
        waited = self.clock()
        result = future.result()
        recheck = self.s.recheck_answer if cmd.answering else self.s.recheck
        if recheck is not None:
            result = self._worker.submit(self._recheck, recheck, result).result()
        result.wait_ms = (self.clock() - waited) * 1000.0
        return result
