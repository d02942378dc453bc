"""Hand-over to other systems: cursors over ingestion order, formats, jobs and sinks."""
