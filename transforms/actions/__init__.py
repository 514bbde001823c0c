"""Stage 3: findings become cleanup actions HR work, and the action workbook's round trip (SPEC §6)."""
