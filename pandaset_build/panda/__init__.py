"""PANDA: the paper's pairwise distortion-graph model, its data, training and evaluation."""
