"""Training: datasets and crops from sparse strokes, losses, the training loop and its events."""
