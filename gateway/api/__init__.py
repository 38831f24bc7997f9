"""The platform's own HTTP API: one router per concern, each naming the collaborators it uses.

`/token` (trust), `/healthz` and `/topology` (status), `/catalog`, `/audit`, `/admin`,
`/documents`, `/_sandbox`, `/dashboard` and `/metrics`. Dependencies that hand routers their
collaborators, and the one way to say "admin only", are in `deps.py`. Routed calls do not
come through here: the exchange lane (`gateway/proxy/lane.py`) takes them first.
"""
