"""Image quality: region crops, shape buckets, batched scoring, pyiqa metrics."""
