"""Stenogram: speech to text and subtitles on your own machine."""

__version__ = "0.1.0"
