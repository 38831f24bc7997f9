"""For test suites, ours and agency teams': a whole topology in-process, and provider checks.

The in-process harness on free ports (`harness.py`), the pytest plugin over it
(`pytest_plugin.py`, the `pytest11` entry point), provider verification of a back end against
a contract (`verify.py`) and its JUnit report (`junit.py`), and a cassette held against its
contract (`cassette_check.py`). Imports `runtime/`, `topology/` and `pki/`, never `cli/`.
"""
