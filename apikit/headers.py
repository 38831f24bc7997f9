"""Header names that travel between hops."""

import re

MESSAGE_ID = "X-Message-Id"
# What a caller may give as X-Message-Id: short, and safe to echo in headers, bodies and logs.
MESSAGE_ID_FORMAT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
# The consumer the first platform authenticated; later hops see the platform as the caller.
ORIGIN_CONSUMER = "X-Origin-Consumer"
CONSUMER = "X-Consumer-Id"
# A provincial credential scheme (Hậu Giang's LGSP): base64 JSON of the key and secret, sent on
# every call instead of a bearer token; a credential like Authorization, never passed on.
LGSP_ACCESS_TOKEN = "lgspaccesstoken"
# Picks a back end's canned test outcome for one call (contracts/scenarios.py); passes
# through every platform like any end-to-end header, and comes back on the answer.
SANDBOX_SCENARIO = "X-Sandbox-Scenario"
# On a refusal answered as a WSO2 fault: the sandbox's own diagnosis (problem type, detail).
SANDBOX_PROBLEM = "X-Sandbox-Problem"
SANDBOX_DETAIL = "X-Sandbox-Detail"

# RFC 9110 7.6.1 hop-by-hop headers, plus those a proxy must recompute or must not leak.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
