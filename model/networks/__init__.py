"""The networks: U-Net configurations, encoders and their pretrained weights, model files and ONNX export."""
