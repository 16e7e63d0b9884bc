"""Performance comparisons the course claims, each a ratio measured side by side in one run."""
