"""Request and response payloads of every sample service, one module per service."""
