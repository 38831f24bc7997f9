"""The message log: every exchange, audited before it is answered (X-Road's message log).

The audited-exchange wrapper every answering route goes through, the audit log (group commit,
never drops a record) and its hash chain with an anchored head.
"""
