"""Figures and HTML tables drawn from the grid's summary tables, one file per figure (matplotlib, no pyplot state).

Each figure module has a `*_figure(...)` function returning a matplotlib Figure for one dataset;
common.save_figure writes it atomically.
"""
