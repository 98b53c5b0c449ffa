"""The virtual lab: a skeletal model with known truth, rendered from calibrated virtual cameras."""
