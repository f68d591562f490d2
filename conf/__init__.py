"""zq_sim's Hydra configuration, installed as the package ``zq_sim.conf``.

This folder holds only YAML files; the file you are reading makes it a Python package, so that
it ships in the wheel and Hydra finds it by name:
``hydra.initialize_config_module("zq_sim.conf")``. Add scenarios as conf/scenario/NAME.yaml.
"""
