"""Running the sandbox: topology files, the node runner, the launcher and the CLI."""
