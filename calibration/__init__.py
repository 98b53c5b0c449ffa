"""Camera calibration: boards, intrinsics + extrinsics with aniposelib, lab frame, quality, imports."""
