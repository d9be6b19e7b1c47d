"""Demo data: a folder of real content of every kind the models consume, some of it flawed.

It reads `training_lib.data` (never the other way round).
"""
