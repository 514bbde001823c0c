"""The pipeline's stages below the flows: reading and staging extracts, the ledger, the actions and the outputs,
over the warehouse (SQL in ``transforms/sql/``). No Prefect imports here: the flows in ``flows/`` orchestrate."""
