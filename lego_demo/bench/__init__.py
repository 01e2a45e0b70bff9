"""`python -m lego_demo bench`: edit quality per category, speed, memory and cache gains."""
