"""The sandbox's PKI: a root CA, agencies' signing certificates, the platforms' HTTPS ones.

Kept in the data dir (`{data dir}/pki/`): the CA and each agency's key and certificate
(`authority.py`), each platform's server certificate issued by that CA (`tls.py`). Imports
no other room of sandbox/.
"""
