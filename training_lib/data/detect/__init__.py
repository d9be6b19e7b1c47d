"""Type detection: a file's type, format and header facts from its bytes, its name a hint."""
