"""Platform adapters: translate events in, render replies out."""
