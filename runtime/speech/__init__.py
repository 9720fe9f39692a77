"""Speech I/O behind small Protocols (base.py): VAD, ASR, TTS providers."""
