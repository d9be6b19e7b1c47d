"""Loaders: a model's manifest (the files routing gave it) in, a `Dataset` of arrays out.

`registry` holds the loaders by name (a model spec's `loader`); every other module of
this package registers one kind of loader, and is imported on the first lookup.
"""
