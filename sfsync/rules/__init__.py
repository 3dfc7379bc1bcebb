"""Rules: pure decision code. Plain data in, plain data out; no I/O, no clock."""
