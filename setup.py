"""Map the design card's top-level folders onto the one importable package, `fhirmony`.

pipelines/ is `fhirmony`, assets/ is `fhirmony.assets`, quality/ is `fhirmony.quality` and
schemas/ is `fhirmony.schemas` (data: ViewDefinitions, mappings, concept maps).
"""

from setuptools import find_packages, setup

ROOTS = {
    "fhirmony": "pipelines",
    "fhirmony.assets": "assets",
    "fhirmony.quality": "quality",
    "fhirmony.schemas": "schemas",
}

packages: list[str] = []
package_dir: dict[str, str] = {}
for prefix, folder in ROOTS.items():
    package_dir[prefix] = folder
    packages.append(prefix)
    for sub in find_packages(folder):
        packages.append(f"{prefix}.{sub}")
        package_dir[f"{prefix}.{sub}"] = f"{folder}/{sub.replace('.', '/')}"

setup(packages=packages, package_dir=package_dir)
