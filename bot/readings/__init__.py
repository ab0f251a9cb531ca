"""Readings: files of several formats turned into a title and its sections, in reading order."""
