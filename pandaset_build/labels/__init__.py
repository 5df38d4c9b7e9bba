"""Labels from scores: comparisons, pairs, difficulty, statistics, splits, metrics."""
