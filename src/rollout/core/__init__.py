"""What every layer shares: where local state lives (`paths`) and the engine's error type (`errors`)."""
