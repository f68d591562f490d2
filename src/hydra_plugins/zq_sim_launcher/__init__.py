"""zq_sim's Hydra launcher plugin (found by Hydra in the ``hydra_plugins`` namespace)."""
