"""Operating readbot: metrics, health and readiness endpoints, logging, ``readbot doctor``."""
