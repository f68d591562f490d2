"""Vectorised mechanisms: pure functions over the village and contract arrays."""
