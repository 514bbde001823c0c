"""Stage 2: the policy in force, the contribution ledger and the agency's bill (SPEC §4)."""
