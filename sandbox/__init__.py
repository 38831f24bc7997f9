"""Running the sandbox: topology files, the node processes, exports, agency testing, the CLI.

Rooms, each importing only those beneath it (`tests/test_layering.py` holds the table):
`topology/` (what a topology file says) and `pki/` (the sandbox's keys and certificates) at
the bottom; `runtime/` (the processes that serve a topology) over both; `export/` (the
topology and contracts as files for elsewhere) and `testing/` (for agency test suites) beside
it; `cli/` (gsp-sandbox) on top.
"""
