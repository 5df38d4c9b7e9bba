"""Output formats: HF features and shards, the dataset card, the exports, folder manifests."""
