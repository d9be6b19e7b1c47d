"""Incremental learning: what is new since the last successful run, fine-tuning from the
champion with replay of old data, and the forgetting guard."""
