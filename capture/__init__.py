"""Capture: the session folder contract, live multi-camera recording, and the virtual lab."""
