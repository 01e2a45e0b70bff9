"""Builders turn an instruction (plus image, mask, feedback) into a Plan."""
