"""Rendering versions: the per-region plan, the frame, the region-wise renderer, sheets."""
