"""Training and fine-tuning: image-folder datasets, augmentation, discriminators, losses, the loop, checkpoints.

``bigart.training.loop.train(TrainSpec, progress)`` is the entry point; ``bigart finetune`` runs it.
"""
