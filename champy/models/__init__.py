"""Model zoo: the backbone registry, the `create_model` factory, weights, model cards and storage."""
