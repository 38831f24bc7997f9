"""The engine both platform tiers run (LGSP and NGSP differ only in what they report).

Rooms, as X-Road separates them:
- `proxy/`: the routed call and its hops (lane, inbound checks, registry, upstream hop).
- `trust/`: tokens, signing keys, consumers, access rights, rate limits.
- `messagelog/`: the audited-exchange wrapper and the audit log with its hash chain.
- `monitoring/`: health checks, live metrics, Prometheus, the journal, log lines, the graph.
- `documents/`: official documents' store-and-forward.
- `api/`: the platform's own HTTP routers.
`app.py` builds every collaborator in the lifespan; `settings.py` and `spec.py` are shared.
"""
