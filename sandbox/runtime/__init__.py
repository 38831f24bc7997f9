"""The running sandbox: the processes that serve a topology's nodes, and what keeps them up.

One `up` as an object (`sandbox.py`): the launcher that starts node processes, directly or
forked from the zygote (`launcher.py`, `zygote.py`), the supervisor's restart policy
(`supervisor.py`) and the control socket `stop|start|restart|ps` talk to (`control.py`). A
node process (`node.py`, `python -m sandbox.runtime.node`) builds its apps (`apps.py`) from
its settings (`settings.py`) and hosts them (`hosting.py`, `http_protocol.py`), saying who
answers (`identity.py`) and logging JSON lines (`logformat.py`); Compose's health check
(`healthcheck.py`) and "every platform is healthy" (`readiness.py`). Imports `topology/` and
`pki/`, never `testing/` or `cli/`.
"""
