"""Reliability drills: races, faults, tailing readers, projector crashes."""
