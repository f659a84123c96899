"""SegGUI's engine: U-Net, data, training, prediction and export. Never imports Qt."""
