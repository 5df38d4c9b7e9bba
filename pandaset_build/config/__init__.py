"""Recipes: the dataset recipe, the PANDA recipe, label vocabularies and manifests."""
