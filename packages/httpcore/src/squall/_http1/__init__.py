"""squall's HTTP/1.1 implementation: the sans-I/O parser and the connection."""
