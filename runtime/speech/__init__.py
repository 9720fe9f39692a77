"""Speech I/O behind small Protocols (base.py): VAD, ASR, TTS providers.

- `silero.py`   Silero VAD on onnxruntime (`SileroVAD`, `speech_segments`)
- `sphinx.py`   pocketsphinx ASR, general LM or a JSGF grammar (`PocketsphinxASR`)
- `espeak.py`   eSpeak NG TTS in-process through ctypes (`EspeakTTS`, `voices`, `variants`)
- `resample.py` exact, zero-delay sample-rate conversion for whole buffers (`resample`)
- `wav.py`      WAV files in and out (`read_wav`, `write_wav`)
- `stimuli.py`  speech clips from text with boundaries known by construction (`render_speech`)

Modules are imported directly (nothing heavy is imported here).
"""
