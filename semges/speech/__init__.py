"""The speech wing: everything between a recording (and optionally its transcript) and the
per-frame features the generator reads. Whisper lives here.

- :mod:`semges.speech.audio`: decoding any audio file or array to 16 kHz mono, with limits;
- :mod:`semges.speech.transcription`: Whisper (faster-whisper, bundled tiny.en) recognition
  and word-time refinement;
- :mod:`semges.speech.alignment`: a given transcript force-aligned to the audio with Whisper;
- :mod:`semges.speech.audio_features`: Whisper encoder states + prosody at the motion rate;
- :mod:`semges.speech.text_features`: contextual word embeddings (all-MiniLM-L6-v2) per frame;
- :mod:`semges.speech.frontend`: :class:`~semges.speech.frontend.SpeechFrontend` and its
  :class:`~semges.speech.frontend.FrontendConfig`, which runs all of the above;
- :mod:`semges.speech.types`: :class:`Word` and :class:`SpeechFeatures`, what it hands on.

Importing this package loads only the two small types; the models load when a front-end is
built.
"""

from semges.speech.types import SpeechFeatures, Word

__all__ = ["SpeechFeatures", "Word"]
