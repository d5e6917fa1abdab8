"""xnets-lite: χ-nets (stacked bilinear layers) and the ODT decomposition, small and exact."""
__version__ = "0.1.0"
