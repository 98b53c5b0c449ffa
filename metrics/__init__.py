"""Metrics: joint angles, knee position relative to the foot, reps and phases, the valgus reading."""
