"""bigart: explore the latent spaces of BigGAN, StyleGAN and CycleGAN generators."""

__version__ = "0.1.0"
