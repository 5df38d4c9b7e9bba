"""The shard engine: shards, completion records, stages, executors, summaries."""
