"""Label formats: export and import of masks as index, colour, VOC, COCO, YOLO, labelme and GeoTIFF files."""
