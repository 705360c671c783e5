"""The catalogue: canonical products, categories and regions, with their aliases."""
