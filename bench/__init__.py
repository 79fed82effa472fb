"""StreamForge benchmarks. `make bench` runs them all (`python -m bench`), each in its own process."""
