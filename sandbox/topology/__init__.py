"""Topology files: what a sandbox is made of, read from YAML and checked before anything starts.

Loading a shipped name or a path (`loading.py`) through bounded YAML (`bounded_yaml.py`),
the country-wide presets (`presets.py`), the counts `validate` prints (`counts.py`), where
each node listens (`addresses.py`), which nodes one process serves (`selection.py`), what a
node is given (`specs.py`), who is who (`parties.py`) and the agency's own services laid over
a topology (`own_services.py`). The shipped topologies are the YAML files in `shipped/`.
Imports no other room of sandbox/.
"""
