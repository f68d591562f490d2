"""zq_sim's input data (see README.md beside it), installed as the package ``zq_sim.data_files``.

The file you are reading makes this folder a Python package, so that it ships in the wheel;
runs read the files through ``zq_sim.paths`` (or from ``$ZQ_DATA_DIR`` when it is set).
"""
