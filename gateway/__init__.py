"""The routing engine both platform tiers run: registry, auth, routing, health, audit."""
