"""Tempest plugin with m2's own Bare Metal API scenario tests."""
