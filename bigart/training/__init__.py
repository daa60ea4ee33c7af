"""Training: image-folder datasets, augmentation, losses, discriminators, the training loop and its checkpoints."""
