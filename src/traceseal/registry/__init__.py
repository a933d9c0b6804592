"""Product registry: products identified by GTIN, and their production batches (lots)."""
