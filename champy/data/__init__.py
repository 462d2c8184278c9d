"""Data: GBIF archive ingestion, image download, the dataset tree, manifests, labelled folders, and the classes
and split of a folder (`prepare`)."""
