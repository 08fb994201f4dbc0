"""`make bench`: what a CloudSwarm turn costs in orchestration, how fast the platform halts, and
how its cost grows with the team and the board, measured on the local stack (docs/bench.md)."""
