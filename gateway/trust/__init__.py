"""Trust: who may call, and how the platform proves who it is (X-Road's trust services).

Consumers and their credentials, the token service and its signing keys, access rights,
rate limits, and the platform's own tokens at the next platform up.
"""
