"""Data: GBIF archive ingestion, image download, the dataset tree, manifests and splits."""
