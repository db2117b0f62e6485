"""Department extracts: reading files as they really arrive, normalising, and quarantine."""
