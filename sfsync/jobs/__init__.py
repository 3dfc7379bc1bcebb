"""Jobs: where connectors, rules and the store meet (sync cycle, backfill, replay, daemon)."""
