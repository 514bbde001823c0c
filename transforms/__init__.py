"""The pipeline's stages below the flows, one subpackage each, every arrow pointing down:

- ``outputs``  what a close writes for HR and finance; ``outputs/index.py`` lists every output and its owner;
- ``actions``  findings become cleanup actions, and the action workbook's round trip;
- ``ledger``   the policy in force, the contribution ledger, the agency's bill;
- ``ingest``   files in, every row staged, rejected or counted as not data;
- ``common``   labels, periods, masking, roles, runs, the xlsx writer, the page templates.

A stage's SQL is in its ``sql/`` folder; the pages are in ``templates/``. No Prefect imports here: the flows in
``flows/`` orchestrate."""
