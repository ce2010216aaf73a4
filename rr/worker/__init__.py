"""One PHP worker process: spawning, relay, protocol state."""
