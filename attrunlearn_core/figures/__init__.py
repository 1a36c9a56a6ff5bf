"""Figures drawn from the result tables (no Snakemake inside; rules wire them into the report)."""
