"""Gestures while the speech arrives: :class:`LiveGenerator` turns pushed audio into final
motion frames, a fixed lookahead behind the voice.

Everything runs in fixed steps of ``hop_frames`` frames, decided by the audio alone, never by
how it was pushed: step k computes the feature rows up to frame ``e = (k + 1) * hop +
lookahead`` (:mod:`semges.live.features`), and makes frames ``[k * hop, (k + 1) * hop)``
final. So any chunking of a stream gives the same frames, and ``flush`` ends the stream with
silence, cut to the stream's exact frame count.

One step, in the offline pipeline's terms (:mod:`semges.pipeline`):

- **Words.** Every 1.2 s a background thread recognises the trailing audio
  (:mod:`semges.live.words`); the words it commits are laid on their frames a fixed number of
  steps later, and the frames after the last word known are UNKNOWN_WORDS to the generator.
  Recognition lags the voice by 1-2 s, more than the lookahead: a word shapes the gestures
  after it, not its own (the live generator is trained with that lag).
- **Codes.** The live generator (trained on live features) scores the codes of the last
  ``window`` frames, guided as offline. Segments start at onset peaks of the speech
  (offline: word onsets), at least ``min_segment_frames`` and at most ``max_segment_frames``
  apart, decided from the frames known. A segment's code is chosen once, when
  ``decision_frames`` of its frames are known, from their mean logits and the segment's
  noise, addressed by (seed, part, first frame) as offline; until then the frames hold the
  previous code.
- **Rotations.** The codes of the last ``decode_frames`` frames are decoded, smoothed as
  offline, and handed over into the plan of the frames not yet final (the decoder sees 12
  frames either side, so a code chosen changes the frames just before its segment: the plan
  takes the change in smoothly), then eased to the rest pose by an envelope of speech
  activity that rises over the lookahead before speech (offline: over the hold before a
  word).
- **Translation** keeps the weight-bearing foot planted, carried from step to step.
- **Face.** The live face model over the rows kept, with its own activity envelope.

State is bounded: a few seconds of audio and ``history_frames`` feature rows, whatever the
length of the stream.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from semges import layout
from semges.activity_envelope import lookahead_envelope, smoothstep
from semges.layout import FPS
from semges.live.config import (
    FACE_FOLDER,
    GENERATOR_FOLDER,
    LiveConfig,
    live_folder,
    read_live_config,
)
from semges.live.features import (
    PROSODY_FRAME_LENGTH,
    RunningPercentile,
    StreamingAudioFeatures,
    frame_sample,
)
from semges.live.words import IncrementalRecognizer, WordStream, recognition_whisper
from semges.models import SemGesGenerator
from semges.models.code_sampling import sample_held_codes, segment_noise
from semges.models.face import FaceModel
from semges.motion import MotionClip
from semges.pipeline import SemGesPipeline, guided_code_logits
from semges.planted_translation import PlantedTranslation
from semges.sampling import DEFAULT_TEMPERATURE, check_seed, check_temperature
from semges.speakers import DEFAULT_SPEAKER
from semges.speech.audio import SAMPLE_RATE
from semges.speech.audio_features import VOICED_THRESHOLD
from semges.speech.text_features import frame_word_features
from semges.windows import gaussian_smooth

ENERGY, ONSET, _LOG_F0, VOICING = range(-4, 0)  # the prosody columns at the end of a row
WORD_LAG_BINS: tuple[float, float, float] = (0.0, 20.0, 0.05)  # s: a running percentile's bins


@dataclass
class _Segment:
    first: int  # its first frame
    codes: list[int] | None = None  # one per part, once chosen


class LiveGenerator:
    """Speech pushed in pieces of any size -> the motion frames that became final.

    live = LiveGenerator.from_pretrained("assets/checkpoint", speaker=2, seed=0)
    clip = live.push(samples)  # float32 mono 16 kHz; maybe no frames yet
    ...
    clip = live.flush()  # the rest: frames_emitted == num_motion_frames(samples pushed)
    """

    sample_rate: int = SAMPLE_RATE

    def __init__(
        self,
        pipeline: SemGesPipeline,
        generator: SemGesGenerator,
        face: FaceModel | None,
        config: LiveConfig,
        speaker: int | str = DEFAULT_SPEAKER,
        seed: int = 0,
        temperature: float = DEFAULT_TEMPERATURE,
        words: bool = True,
        wait_for_words: bool = False,
    ) -> None:
        """``words``: recognise words as they come (if the live models were trained with
        them); ``wait_for_words``: each step waits for its due decode however long it takes,
        so the frames repeat exactly when the audio comes faster than real time (files,
        tests); otherwise it waits at most the words config's ``max_wait_s``."""
        check_temperature(temperature)
        check_seed(seed)
        self.pipeline, self.generator, self.face, self.config = pipeline, generator, face, config
        self.speaker = pipeline.check_speaker(speaker)
        self.seed, self.temperature = seed, temperature
        self.features = StreamingAudioFeatures(pipeline.frontend.whisper, config.features)
        self._parts = pipeline.parts
        self._translation = PlantedTranslation(FPS, pipeline.inference.recenter_time_s)
        history = config.history_frames
        self._rows = np.zeros((0, generator.config.audio_dim), np.float32)
        self._rows_start = 0  # absolute frame of self._rows[0]
        self._rows_end = 0  # frames with rows: [_rows_start, _rows_end)
        self._segments: list[_Segment] = []
        self._events_until = 0  # frames before this have been checked for segment starts
        self._next_step_end = config.first_step_end
        self.frames_emitted = 0
        self._flushed = False
        self._plan: tuple[int, torch.Tensor] | None = None  # (first frame, rot6d) to come
        if history < max(generator.config.window, config.decode_frames):
            raise ValueError("history_frames must cover the generator window and decode_frames")
        self._text = np.zeros((0, generator.config.text_dim), np.float32)
        self._word_mask = np.zeros(0, bool)
        self._known_until = 0  # frames before this carry their words (or none)
        self._word_lags = RunningPercentile(*WORD_LAG_BINS)
        self._word_stream: WordStream | None = None
        if words and config.words is not None:
            frontend = pipeline.frontend
            recognizer = IncrementalRecognizer(
                recognition_whisper(frontend.config.whisper_model, frontend.config.compute_type),
                frontend.word_encoder,
                config.words,
                frontend.config.language,
            )
            usable_after = config.words.usable_after_steps * config.features.hop_frames
            max_wait = None if wait_for_words else config.words.max_wait_s
            self._word_stream = WordStream(recognizer, usable_after, max_wait)

    @classmethod
    def from_pretrained(
        cls,
        folder: str | os.PathLike,
        speaker: int | str = DEFAULT_SPEAKER,
        seed: int = 0,
        temperature: float = DEFAULT_TEMPERATURE,
        pipeline: SemGesPipeline | None = None,
        words: bool = True,
        wait_for_words: bool = False,
    ) -> LiveGenerator:
        """The live generator of a pipeline folder with live models (``live/``); ``pipeline``:
        that folder's pipeline, already loaded (a server starting many streams); ``words``,
        ``wait_for_words``: as in the constructor."""
        config = read_live_config(folder)
        models = live_folder(folder)
        generator = SemGesGenerator.from_pretrained(models / GENERATOR_FOLDER).eval()
        face_folder = models / FACE_FOLDER
        face = FaceModel.from_pretrained(face_folder).eval() if face_folder.is_dir() else None
        pipeline = pipeline if pipeline is not None else SemGesPipeline.from_pretrained(folder)
        return cls(
            pipeline, generator, face, config, speaker, seed, temperature, words, wait_for_words
        )

    @property
    def lookahead_s(self) -> float:
        """How far the newest final frame lags the newest audio it needed, in seconds: the
        lookahead frames, and half a prosody window past the last of them. (The oldest frame
        a step makes final lags ``hop_frames`` more: see ``LiveConfig.latency_frames``.)"""
        audio_past_rows = PROSODY_FRAME_LENGTH // 2 / SAMPLE_RATE
        return (self.config.lookahead_frames + 1) / FPS + audio_past_rows

    @property
    def next_step_samples(self) -> int:
        """The samples the stream must have received (all pushes together) for its next step to
        run: a sender that sends a piece as soon as its audio reaches this count gets each
        step's frames as early as the audio allows, with one request per step."""
        return self.features.samples_for_frames(self._next_step_end)

    @property
    def recognizes_words(self) -> bool:
        return self._word_stream is not None

    def word_statistics(self) -> dict[str, float | int | None]:
        """Streaming recognition so far: words used, decodes late or dropped, the time spent
        recognising, and the lag from a word's end to its first use (50th and 95th
        percentile, s; None before any word)."""
        stream = self._word_stream
        used = self._word_lags.count
        return {
            "words": used,
            "late_decodes": stream.late if stream else 0,
            "dropped_decodes": stream.dropped if stream else 0,
            "recognition_s": round(stream.compute_s, 3) if stream else 0.0,
            "word_lag_p50_s": round(float(self._word_lags.percentile(50.0)), 2) if used else None,
            "word_lag_p95_s": round(float(self._word_lags.percentile(95.0)), 2) if used else None,
        }

    def close(self) -> None:
        """Stop the word recognition thread (``flush`` does too); the stream ends."""
        if self._word_stream is not None:
            self._word_stream.close()
        self._flushed = True

    def __enter__(self) -> LiveGenerator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def received_frames(self) -> int:
        return layout.num_motion_frames(self.features.received_samples, SAMPLE_RATE)

    def push(self, samples: np.ndarray) -> MotionClip:
        """Add float32 mono 16 kHz audio; returns the frames that became final (maybe none)."""
        return _joined(self.push_steps(samples))

    def push_steps(self, samples: np.ndarray) -> Iterator[MotionClip]:
        """:meth:`push`, one clip per step as each is computed: a consumer can show a step's
        frames while the next step computes (a long piece holds several steps). The audio is
        checked and taken at once; the steps run as the clips are taken."""
        samples = np.asarray(samples)
        if self._flushed:
            raise RuntimeError("this stream was flushed: start a new LiveGenerator")
        if samples.ndim != 1 or not np.issubdtype(samples.dtype, np.floating):
            raise ValueError(
                f"push takes 1-D float mono samples at 16 kHz, got {samples.dtype} {samples.shape}"
            )
        if not np.isfinite(samples).all():
            raise ValueError("the audio holds NaN or infinite samples")
        self.features.push(samples.astype(np.float32, copy=False))
        return self._steps(self.features.available_frames())

    def flush(self) -> MotionClip:
        """End the stream: the remaining frames, up to the stream's exact frame count."""
        if self._flushed:
            return MotionClip.rest(0)
        total = self.received_frames
        self.features.finish()
        try:
            clip = _joined(self._steps(total + self.config.latency_frames, total))
        finally:
            self.close()
        return clip

    def _steps(self, available: int, total: int | None = None) -> Iterator[MotionClip]:
        """The steps whose audio is ``available`` (frames); ``total``: the stream's frame count,
        when it has ended."""
        while self._next_step_end <= available:
            if total is not None and self.frames_emitted >= total:
                break
            clip = self._step(self._next_step_end)
            self._next_step_end += self.config.features.hop_frames
            if total is not None and self.frames_emitted > total:
                clip = clip.frames(0, clip.num_frames - (self.frames_emitted - total))
                self.frames_emitted = total
            yield clip

    # -- one step ----------------------------------------------------------------------------

    def _step(self, end: int) -> MotionClip:
        config, hop = self.config, self.config.features.hop_frames
        while self._rows_end < end:  # the first step needs the rows of its lookahead too
            self._rows_end += hop
            self._add_rows(self.features.step(self._rows_end), self._rows_end)
        if self._word_stream is not None:
            self._update_words(end)
        final = np.arange(self.frames_emitted, end - config.lookahead_frames)
        active = self._active()
        self._find_segments(end, active)
        self._choose_codes(end)
        rot6d = self._decode(end)  # (decode window, sum of part dims)
        plan = self._hand_over(rot6d[-(end - self.frames_emitted) :], self.frames_emitted)
        final_rot6d = plan[: final.shape[0]]
        known = final - self._rows_start
        inference = self.pipeline.inference
        envelope = torch.from_numpy(
            lookahead_envelope(
                active,
                known,
                inference.hold_after_words_s * FPS,
                inference.settle_s * FPS,
                config.lookahead_frames,
            )
        )
        motion = self.pipeline.eased_motion(final_rot6d, envelope)
        if layout.LOWER.name in self._parts:
            motion.trans = self._translation.extend(motion.poses)
        if self.face is not None:
            self._add_face(motion, known, active)
        self.frames_emitted += final.shape[0]
        return motion

    def _add_rows(self, rows: np.ndarray, end: int) -> None:
        history = self.config.history_frames
        self._rows = np.concatenate([self._rows, rows])[-history:]
        self._rows_start = end - self._rows.shape[0]
        self._text = np.concatenate(
            [self._text, np.zeros((rows.shape[0], self._text.shape[1]), np.float32)]
        )[-history:]
        self._word_mask = np.concatenate([self._word_mask, np.zeros(rows.shape[0], bool)])[
            -history:
        ]

    def _update_words(self, end: int) -> None:
        """Send this step's decode if it is one, and lay the words of the decodes due now on
        their frames."""
        words = self.config.words
        hop = self.config.features.hop_frames
        if (end - self.config.first_step_end) // hop % words.decode_every_steps == 0:
            last = frame_sample(end)
            first = last - round(words.window_s * SAMPLE_RATE)
            self._word_stream.send(end, self.features.samples(first, last))
        for batch in self._word_stream.take(end):
            text, mask = frame_word_features(
                list(batch.words), batch.embeddings, self._rows.shape[0], self._rows_start
            )
            self._text[mask] = text[mask]
            self._word_mask |= mask
            self._known_until = max(self._known_until, round(batch.known_until_s * FPS))
            self._word_lags.add(np.array([end / FPS - w.end for w in batch.words]))

    def _active(self) -> np.ndarray:
        """(N,) bool speech activity of the rows kept."""
        voiced = self._rows[:, VOICING] > VOICED_THRESHOLD
        return voiced | (self._rows[:, ENERGY] > self.config.active_energy)

    def _find_segments(self, end: int, active: np.ndarray) -> None:
        """Start segments at onset peaks up to the last frame whose next frame is known."""
        inference = self.pipeline.inference
        onset = self._rows[:, ONSET]
        for frame in range(self._events_until, end - 1):
            if not self._segments:
                self._segments.append(_Segment(frame))
                continue
            since = frame - self._segments[-1].first
            i = frame - self._rows_start
            peak = (
                i >= 1
                and active[i]
                and onset[i] >= self.config.onset_event_threshold
                and onset[i] >= onset[i - 1]
                and onset[i] > onset[i + 1]
            )
            if since >= inference.max_segment_frames or (
                peak and since >= inference.min_segment_frames
            ):
                self._segments.append(_Segment(frame))
        self._events_until = end - 1
        oldest = end - self.config.history_frames
        while len(self._segments) > 1 and self._segments[1].first <= oldest:
            self._segments.pop(0)

    def _logits(self, end: int) -> tuple[int, dict[str, torch.Tensor]]:
        """The first frame of the last ``window`` frames, and their per part (n, K) code
        logits."""
        window = self.generator.config.window
        rows = torch.from_numpy(self._rows[-window:])[None]
        length = rows.shape[1]
        frames = np.arange(end - length, end)
        with torch.inference_mode():
            logits = guided_code_logits(
                self.generator,
                self.pipeline.inference,
                rows,
                torch.from_numpy(self._text[-window:])[None],
                torch.from_numpy(self._word_mask[-window:])[None],
                torch.tensor([self.speaker]),
                words_withheld=torch.from_numpy(frames >= self._known_until)[None],
            )
        return end - length, {part: values[0] for part, values in logits.items()}

    def _choose_codes(self, end: int) -> None:
        """Choose the codes of the segments with ``decision_frames`` known frames (the
        generator runs only then: a segment lasts 10 to 30 frames, a step adds 6)."""
        decision = self.config.decision_frames
        due = [s for s in self._segments if s.codes is None and s.first + decision <= end]
        if not due:
            return
        logits_first, logits = self._logits(end)
        for segment in due:
            first = segment.first - logits_first
            rows = slice(first, first + decision)
            codes = []
            for stream, part in enumerate(self._parts):
                part_logits = logits[part][rows][None]  # (1, decision, K)
                noise = None
                if self.temperature > 0:
                    noise = torch.from_numpy(
                        segment_noise(
                            self.seed, stream, np.array([segment.first]), part_logits.shape[-1]
                        )
                    )[None]
                held = sample_held_codes(
                    part_logits,
                    torch.zeros(1, part_logits.shape[1], dtype=torch.long),
                    self.temperature,
                    noise,
                )
                codes.append(int(held[0, 0]))
            segment.codes = codes

    def _hand_over(self, decoded: torch.Tensor, first: int) -> torch.Tensor:
        """Blend this step's decode of the frames from ``first`` (the next to become final) to
        the step's end into the plan the previous step left for them, and keep the result as
        the next step's plan.

        A code chosen since the previous step changes the decode up to the decoder's reach
        before it, frames that may be only a hop from final: taken as is it made a jump at
        every step (arm and hand jerk at step boundaries 1.5x that elsewhere). Here the frame
        about to become final keeps the plan, and the new decode takes over smoothly across
        ``hand_over_frames`` (frames past the old plan continue its last frame)."""
        plan = decoded
        if self._plan is not None:
            previous_first, previous = self._plan
            previous = previous[first - previous_first :]
            held = previous[-1:].expand(decoded.shape[0] - previous.shape[0], -1)
            previous = torch.cat([previous, held])
            offsets = np.arange(1, decoded.shape[0] + 1, dtype=np.float32)[:, None]
            weight = torch.from_numpy(smoothstep(offsets / self.config.hand_over_frames))
            plan = weight * decoded + (1.0 - weight) * previous
        self._plan = (first, plan)
        return plan

    def _decode(self, end: int) -> torch.Tensor:
        """(n, sum of part dims) smoothed rotations of the last ``decode_frames`` frames; the
        frames of a segment whose code is not chosen yet hold the previous code."""
        first = max(0, end - self.config.decode_frames)
        frames = np.arange(first, end)
        starts = np.array([s.first for s in self._segments])
        which = np.searchsorted(starts, frames, side="right") - 1
        chosen = [s.codes for s in self._segments]
        for index in range(len(chosen)):
            if chosen[index] is None:
                chosen[index] = chosen[index - 1] if index > 0 else None
        decoded = []
        with torch.inference_mode():
            for stream, part in enumerate(self._parts):
                indices = torch.tensor(
                    [[chosen[max(w, 0)][stream] for w in which]], dtype=torch.long
                )
                decoded.append(self.pipeline.vqvaes[part].decode_indices(indices)[0])
        rot6d = torch.cat(decoded, dim=-1)
        return gaussian_smooth(rot6d, self.pipeline.inference.smoothing_frames)

    def _add_face(self, motion: MotionClip, known: np.ndarray, active: np.ndarray) -> None:
        inference = self.pipeline.inference
        all_rows = np.arange(self._rows.shape[0])
        envelope = lookahead_envelope(
            active,
            all_rows,
            inference.face_hold_after_words_s * FPS,
            inference.face_settle_s * FPS,
            self.config.lookahead_frames,
        )
        length = self._rows.shape[0]
        face = self.face.predict(
            self._rows,
            np.zeros((length, self.face.config.text_dim), np.float32),
            np.zeros(length, bool),
            envelope,
            inference.face_gain,
        )
        motion.poses[:, list(layout.FACE_JAW.pose_columns)] = face.jaw[known]
        motion.expressions = face.expressions[known]


def _joined(clips: Iterable[MotionClip]) -> MotionClip:
    clips = list(clips)
    return MotionClip.concatenate(clips) if clips else MotionClip.rest(0)
