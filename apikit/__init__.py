"""HTTP plumbing shared by every service in the sandbox: headers, problem+json, health."""
