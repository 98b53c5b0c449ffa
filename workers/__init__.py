"""Workers: the pipeline as Ray tasks."""
