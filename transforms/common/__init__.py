"""Parts every stage uses: labels, periods, masking, roles, runs, the xlsx writer, templates."""
