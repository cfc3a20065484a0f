"""Word timing accuracy of the speech front-end on real BEAT2 speech with TextGrids.

For each clip: transcription (Whisper tiny.en, as ``SpeechFrontend.transcribe``) and forced
alignment of the TextGrid's own words (as ``SpeechFrontend.transcribe(audio, text)``),
compared with the TextGrid (tier "words", empty intervals skipped). Transcribed words are
matched to the reference by sequence alignment of normalised spellings; onset error =
predicted start - TextGrid start. Word error rate: Levenshtein distance over normalised words.

The default timing shift (``TimingRefinement.shift_s``) was derived from clip 2_scott_0_1_1
alone: the calibration rows report that clip's median signed onset error with no shift.
2_scott_0_2_2 and 2_scott_0_3_3 are held out.

    .venv/bin/python -m benchmarks.frontend_accuracy [--data data/beat2]

writes benchmarks/frontend_accuracy.json and .md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from training.sample_data import BEAT2_SAMPLE_DIR

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CLIPS = ("2_scott_0_1_1", "2_scott_0_2_2", "2_scott_0_3_3")
CALIBRATION_CLIP = "2_scott_0_1_1"
TARGET_MEDIAN_ONSET_ERROR_S = 0.10
HERE = Path(__file__).resolve().parent


def read_textgrid_words(path: Path):
    from praatio import textgrid

    from semges.speech import Word

    grid = textgrid.openTextgrid(str(path), includeEmptyIntervals=False)
    return [
        Word(e.label.strip(), e.start, e.end)
        for e in grid.getTier("words").entries
        if e.label.strip()
    ]


def word_error_rate(reference: list[str], hypothesis: list[str]) -> float:
    """(substitutions + deletions + insertions) / len(reference), over normalised words."""
    from semges.speech.alignment import normalize_word

    ref = [normalize_word(w) for w in reference]
    hyp = [normalize_word(w) for w in hypothesis]
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1] / max(len(ref), 1)


def onset_stats(reference, words, paired: bool) -> dict:
    from semges.speech.alignment import match_words

    if paired:
        pairs = list(zip(range(len(reference)), range(len(words))))
    else:
        pairs = match_words([w.word for w in reference], [w.word for w in words])
    errors = np.array([words[j].start - reference[i].start for i, j in pairs])
    absolute = np.abs(errors)
    return {
        "words_compared": int(len(errors)),
        "reference_words": len(reference),
        "median_abs_onset_error_s": round(float(np.median(absolute)), 4),
        "mean_abs_onset_error_s": round(float(absolute.mean()), 4),
        "p90_abs_onset_error_s": round(float(np.percentile(absolute, 90)), 4),
        "median_signed_onset_error_s": round(float(np.median(errors)), 4),
        "within_0.10_s": round(float(np.mean(absolute <= 0.10)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=BEAT2_SAMPLE_DIR)
    parser.add_argument("--out", type=Path, default=HERE / "frontend_accuracy")
    args = parser.parse_args()

    from semges.speech.audio import SAMPLE_RATE
    from semges.speech.frontend import SpeechFrontend
    from semges.speech.transcription import TimingRefinement, refine_word_times, speech_intervals

    frontend = SpeechFrontend()
    config = frontend.config
    unshifted = dataclasses.replace(config.timing, shift_s=0.0)
    clips = {}
    for clip in CLIPS:
        reference = read_textgrid_words(args.data / f"{clip}.TextGrid")
        samples = frontend.load(args.data / f"{clip}.wav")
        duration = samples.shape[0] / SAMPLE_RATE
        started = time.perf_counter()
        transcribed = frontend.transcribe((samples, SAMPLE_RATE))
        transcribe_s = time.perf_counter() - started
        text = " ".join(w.word for w in reference)
        started = time.perf_counter()
        aligned = frontend.transcribe((samples, SAMPLE_RATE), text)
        align_s = time.perf_counter() - started
        assert [w.word for w in aligned] == text.split()

        raw = frontend.recognise((samples, SAMPLE_RATE)).words  # what transcription refines
        speech = speech_intervals(samples, config.timing.silence_top_db)
        clips[clip] = {
            "duration_s": round(duration, 2),
            "role": "calibration (timing shift)" if clip == CALIBRATION_CLIP else "held out",
            "transcription": {
                **onset_stats(reference, transcribed, paired=False),
                "word_error_rate": round(
                    word_error_rate([w.word for w in reference], [w.word for w in transcribed]), 4
                ),
                "seconds": round(transcribe_s, 2),
            },
            "forced_alignment": {
                **onset_stats(reference, aligned, paired=True),
                "seconds": round(align_s, 2),
            },
            "ablation": {
                "raw_whisper_times": onset_stats(reference, raw, paired=False),
                "snapped_no_shift": onset_stats(
                    reference, refine_word_times(raw, speech, duration, unshifted), paired=False
                ),
            },
        }
        print(
            clip,
            json.dumps(clips[clip]["transcription"]),
            json.dumps(clips[clip]["forced_alignment"]),
        )

    def pooled(kind: str, key: str) -> float:
        return round(float(np.median([clips[c][kind][key] for c in CLIPS])), 4)

    report = {
        "what": "word onset error against BEAT2 TextGrids (tier 'words'), Whisper tiny.en int8",
        "frontend_config": dataclasses.asdict(config),
        "timing_shift_default_s": TimingRefinement().shift_s,
        "calibration": {
            "clip": CALIBRATION_CLIP,
            "median_signed_onset_error_without_shift_s": clips[CALIBRATION_CLIP]["ablation"][
                "snapped_no_shift"
            ]["median_signed_onset_error_s"],
        },
        "target_median_abs_onset_error_s": TARGET_MEDIAN_ONSET_ERROR_S,
        "clips": clips,
        "summary": {
            "transcription_median_abs_onset_error_s (median over clips)": pooled(
                "transcription", "median_abs_onset_error_s"
            ),
            "forced_alignment_median_abs_onset_error_s (median over clips)": pooled(
                "forced_alignment", "median_abs_onset_error_s"
            ),
            "transcription_word_error_rate (median over clips)": pooled(
                "transcription", "word_error_rate"
            ),
            "all_clips_meet_target": all(
                clips[c][kind]["median_abs_onset_error_s"] <= TARGET_MEDIAN_ONSET_ERROR_S
                for c in CLIPS
                for kind in ("transcription", "forced_alignment")
            ),
        },
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
    }
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    print(json.dumps(report["summary"], indent=2))


def markdown(report: dict) -> str:
    lines = [
        "# Speech front-end: word timing accuracy on BEAT2",
        "",
        "Produced by `benchmarks/frontend_accuracy.py`. Reference: BEAT2 TextGrids (tier "
        '"words", empty intervals skipped). Onset error = predicted start - TextGrid start. '
        "Transcribed words are matched to the reference by sequence alignment of normalised "
        "spellings; forced alignment times the TextGrid's own words. WER over normalised words "
        "(numbers written as digits by Whisper count as errors).",
        "",
        f"Timing shift {report['timing_shift_default_s']} s, derived on "
        f"{report['calibration']['clip']} only (its median signed onset error without a shift: "
        f"{report['calibration']['median_signed_onset_error_without_shift_s']} s); the other "
        "clips are held out.",
        "",
        "| clip | role | task | words compared | median abs onset error (s) | mean | p90 | "
        "median signed | within 0.10 s | WER |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for clip, result in report["clips"].items():
        for task in ("transcription", "forced_alignment"):
            r = result[task]
            wer = f"{r['word_error_rate']:.1%}" if "word_error_rate" in r else "-"
            lines.append(
                f"| {clip} | {result['role']} | {task.replace('_', ' ')} | "
                f"{r['words_compared']}/{r['reference_words']} | "
                f"**{r['median_abs_onset_error_s']:.3f}** | {r['mean_abs_onset_error_s']:.3f} | "
                f"{r['p90_abs_onset_error_s']:.3f} | {r['median_signed_onset_error_s']:+.3f} | "
                f"{r['within_0.10_s']:.0%} | {wer} |"
            )
    lines += [
        "",
        "Ablation (transcription): raw Whisper word times, and times snapped out of silence "
        "without the shift.",
        "",
        "| clip | raw: median abs | raw: median signed | snapped, no shift: median abs |",
        "|---|---|---|---|",
    ]
    for clip, result in report["clips"].items():
        raw, snapped = (
            result["ablation"]["raw_whisper_times"],
            result["ablation"]["snapped_no_shift"],
        )
        lines.append(
            f"| {clip} | {raw['median_abs_onset_error_s']:.3f} | "
            f"{raw['median_signed_onset_error_s']:+.3f} | "
            f"{snapped['median_abs_onset_error_s']:.3f} |"
        )
    lines += ["", "Summary:", ""]
    lines += [f"- {key}: {value}" for key, value in report["summary"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
