"""Thread recaps: ``/recap`` in a thread posts its main points grouped by theme, the questions left
open and the reading's passages it touched (``summary`` extractive and offline; ``writer`` through
the configured LLM); ``feature.build`` puts it together."""
