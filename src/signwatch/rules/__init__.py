"""Alert rules (design §7): rule spec, the pure engine, its kinds, and backtests."""
