"""Judge evaluation: backends, the resumable runner, benchmark loaders, aggregation and reports."""
