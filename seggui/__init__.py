"""SegGUI: the Qt labelling application (the engine lives in ``model``)."""

__version__ = "0.1.0"
