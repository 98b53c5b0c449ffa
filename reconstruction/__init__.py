"""Reconstruction: 2D pose per camera, sync check, robust triangulation, clean-up, TRC."""
