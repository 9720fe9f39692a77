"""Package list for the folder -> import mapping in pyproject.toml.

The top-level folders become one import tree (sdk/ -> microturn, runtime/ ->
microturn.runtime, kernels/ -> microturn.kernels, checkpoints/ -> microturn.checkpoints, whose
shipped model is package data). setuptools cannot discover subpackages through such a mapping
on its own, so they are listed here from the folders.
"""

from setuptools import find_packages, setup

ROOTS = {"microturn": "sdk", "microturn.runtime": "runtime", "microturn.kernels": "kernels",
         "microturn.checkpoints": "checkpoints"}

packages = []
for name, folder in ROOTS.items():
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_packages(folder)]

setup(packages=packages)
