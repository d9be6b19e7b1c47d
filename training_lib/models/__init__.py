"""Model catalog and Keras model builders (builders are imported lazily)."""
