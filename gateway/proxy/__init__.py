"""The routed call and its hops (X-Road's proxy).

The exchange lane, the routed call (inbound checks, route lookup, contract checks), the upstream
hop (circuit breakers, fault injection, the forwarder's connection pools), the registry of
published services and the admin changes to it. Everything a request touches on its way
through the platform, and nothing it leaves behind: that is the message log's.
"""
