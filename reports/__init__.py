"""Reports: one PDF per athlete for the coach."""
