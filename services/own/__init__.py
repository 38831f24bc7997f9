"""Back ends of the agency's own: a mock from its OpenAPI document, a recorder in front of a
real upstream, and a replay of what the recorder wrote (contracts/own_spec.py and
contracts/cassette.py hold the shapes they read)."""
