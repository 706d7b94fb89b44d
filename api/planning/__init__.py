"""The planners' own inputs on the database: what-if overlays and overrides with their audit."""
