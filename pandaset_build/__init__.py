"""Rebuild PandaSet and PandaBench from images with panoptic masks."""

__version__ = "0.1.0"
