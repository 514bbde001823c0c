"""A realistic sample inbox: payroll, attendance, insurance and transfer extracts as HR and the platform export them.

``generate_inbox`` writes one payroll and one attendance file per (month, entity) and one insurance and
one transfers snapshot per month, in the header aliases and value spellings of SPEC §2, with every
anomaly of SPEC §5 planted at a low rate and a few rows ingest must reject. Vectorised with numpy and
polars (loops per file, never per row of a big table): 200,000 employees × 13 months take minutes.
The same seed gives the same files, byte for byte.

SPEC version 2 in the sample: 上海, 广州 and 北京 start their contribution year in July and 北京 adds a fixed
3 yuan to the medical employee share (the shipped policy; bases and withholdings follow them); insurance
exports name districts and 本级; payroll IDs come decorated (NBSP, zero-width space, apostrophe, U+3000,
full width); a few people hold foreign permanent-resident numbers, one payroll number is a child's
(too_young); double enrolments and suspended origins in another province (TRANSFER_NEEDED, one of
interim-account age with a hukou elsewhere) are planted, with decoys that need no transfer (a suspended
origin in the same province; movers whose transfer is under way). ``manifest["expected"][code][period]``
lists the ``entity|employee_id`` keys a correct close finds for DOUBLE_ENROLLMENT, TRANSFER_NEEDED,
INVALID_ID_NUMBER and the interim-account flag; ``manifest["v2"]`` counts foreign IDs and decoys.
"""

from sample.inbox import generate_inbox

__all__ = ["generate_inbox"]
