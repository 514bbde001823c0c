"""A realistic sample inbox: payroll, attendance, insurance and transfer extracts as HR and the platform export them.

``generate_inbox`` writes one payroll and one attendance file per (month, entity) and one insurance and
one transfers snapshot per month, in the header aliases and value spellings of SPEC §2, with every
anomaly of SPEC §5 planted at a low rate and a few rows ingest must reject. Vectorised with numpy and
polars (loops per file, never per row of a big table): 200,000 employees × 13 months take minutes.
The same seed gives the same files, byte for byte.
"""

from transforms.sample.inbox import generate_inbox

__all__ = ["generate_inbox"]
