"""Synthetic speech with known word times, from the espeak-ng library (libespeak-ng).

espeak-ng reports a WORD event with the sample position at which each word starts; those
are the reference times. Needs the Debian package espeak-ng (libespeak-ng1).
"""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np

from semges.speech import Word

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_RATE = 1  # espeak_PARAMETER espeakRATE


class _Event(ctypes.Structure):  # espeak_EVENT from speak_lib.h
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


def available() -> bool:
    return ctypes.util.find_library("espeak-ng") is not None


def synthesize(text: str, words_per_minute: int = 160) -> tuple[np.ndarray, int, list[Word]]:
    """(samples float32 mono, sample_rate, words with espeak's start times; end = next start)."""
    library = ctypes.CDLL(ctypes.util.find_library("espeak-ng"))
    sample_rate = library.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, 0)
    if sample_rate <= 0:
        raise RuntimeError("espeak-ng could not be initialised")
    chunks: list[np.ndarray] = []
    starts: list[tuple[int, int, int]] = []  # text position, length, sample

    def collect(wav, count, events) -> int:
        if count > 0:
            chunks.append(np.ctypeslib.as_array(wav, (count,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            if events[i].type == _EVENT_WORD:
                starts.append((events[i].text_position, events[i].length, events[i].sample))
            i += 1
        return 0

    callback = _Callback(collect)  # kept alive until synthesis ends
    library.espeak_SetSynthCallback(callback)
    library.espeak_SetVoiceByName(b"en-us")
    library.espeak_SetParameter(_RATE, words_per_minute, 0)
    encoded = text.encode("utf-8")
    library.espeak_Synth(encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, 0, None, None)
    library.espeak_Synchronize()
    samples = np.concatenate(chunks).astype(np.float32) / 32768.0
    duration = samples.shape[0] / sample_rate
    times = [sample / sample_rate for _, _, sample in starts] + [duration]
    words = [
        Word(text[position - 1 : position - 1 + length], times[k], times[k + 1])
        for k, (position, length, _) in enumerate(starts)
    ]
    return samples, int(sample_rate), words
