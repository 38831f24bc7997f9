"""Monitoring: what the platform can say about itself (X-Road's monitoring).

Health checks of services and neighbouring platforms, live metrics over rolling windows, the
Prometheus exposition, the request journal, the per-exchange log line and the dashboard graph.
"""
