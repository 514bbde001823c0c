"""Stage 4: what a close writes for HR and finance (SPEC §7); `index.py` lists every output."""
