"""Shared schemas: every payload that crosses a hop is declared here once."""
