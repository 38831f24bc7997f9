"""The sandbox as files for somewhere else: Kubernetes manifests and the committed contracts.

`kubernetes.py` lays a topology out for a cluster (the same image and node process as
Compose); `contracts.py` writes every contract's document under contracts/ and the fidelity
ledger. Imports `topology/` (and `pki/`), not the running sandbox.
"""
