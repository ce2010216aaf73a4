"""Worker pools and their supervisor."""
