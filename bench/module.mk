# bench/: see the part's README section in docs/architecture.md.
