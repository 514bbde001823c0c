"""Stage 1: files in, every row staged, rejected or counted as not data (SPEC §2–§3)."""
