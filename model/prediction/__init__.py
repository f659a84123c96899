"""Prediction: tiled inference, folders of predictions, uncertainty, evaluation and calibration."""
