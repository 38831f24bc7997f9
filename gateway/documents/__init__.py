"""Official documents: store-and-forward of edXML packages between agencies.

The document store is a transactional outbox: a document, its receipts, its trail and the
outbox rows that move it on are committed together or not at all (`store.py`). The service
decides where each document goes and records outcomes (`service.py`, `directory.py`); the
delivery worker moves outbox rows on, at least once, with backoff (`delivery.py`). The HTTP
routes are in `gateway/api/documents.py`; the format itself is `contracts/edxml/`.
"""
