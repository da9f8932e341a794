"""The shared kit every package builds on. Submodules are imported explicitly, so importing one never pulls
in another's dependencies."""
