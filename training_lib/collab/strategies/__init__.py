"""The knowledge-sharing strategies: each computes targets or weights from arrays."""
