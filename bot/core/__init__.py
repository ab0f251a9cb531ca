"""The platform-neutral core: events in, replies out, handlers in between."""
