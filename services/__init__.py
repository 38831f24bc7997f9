"""Sample agency back ends: national databases and provincial systems, one FastAPI app each."""
