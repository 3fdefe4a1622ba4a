"""``python tools/pin_constraints.py > constraints.txt``: the tested set, from this environment.

Writes ``name==version`` for every package that setup.cfg's install_requires and extras
need, directly or through their own requirements, as installed in the running Python
environment. setup.cfg keeps compatible ranges; CI and the test command install with
``-c constraints.txt`` so they test exactly this set.
"""

from __future__ import annotations

import configparser
import importlib.metadata as metadata
import os
import platform
import sys

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def top_requirements(setup_cfg: str) -> tuple[list[Requirement], list[str]]:
    """install_requires and every extra's requirements; the extras' names."""
    config = configparser.ConfigParser()
    config.read(setup_cfg)

    def lines(text: str) -> list[str]:
        return [line.strip() for line in text.splitlines()
                if line.strip() and not line.strip().startswith("#")]

    extras = config["options.extras_require"]
    texts = lines(config["options"]["install_requires"])
    texts += [text for name in extras for text in lines(extras[name])]
    return [Requirement(text) for text in texts], list(extras)


def pinned(requirements: list[Requirement], extras: list[str]) -> dict[str, str]:
    """{name: installed version} over the requirements' closure in this environment."""
    environment = {"python_version": ".".join(platform.python_version_tuple()[:2]),
                   "python_full_version": platform.python_version(),
                   "sys_platform": sys.platform, "platform_system": platform.system(),
                   "platform_machine": platform.machine(), "os_name": os.name,
                   "implementation_name": sys.implementation.name,
                   "platform_python_implementation": platform.python_implementation()}
    found: dict[str, tuple[str, set[str]]] = {}
    todo = [(r.name, set(r.extras)) for r in requirements]
    while todo:
        name, wanted = todo.pop()
        distribution = metadata.distribution(name)
        key = canonicalize_name(distribution.metadata["Name"])
        if key in found and wanted <= found[key][1]:
            continue
        found[key] = (distribution.version, found.get(key, ("", set()))[1] | wanted)
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker and not any(
                    requirement.marker.evaluate({**environment, "extra": extra})
                    for extra in (wanted or {""})):
                continue
            todo.append((requirement.name, set(requirement.extras)))
    # An exact pin in setup.cfg is kept as written (torch: a local "+cpu" label would not
    # be found on the package index).
    exact = {canonicalize_name(r.name): str(r.specifier)[2:] for r in requirements
             if str(r.specifier).startswith("==")}
    return {key: exact.get(key, version) for key, (version, _) in sorted(found.items())}


def main() -> None:
    requirements, extras = top_requirements(os.path.join(ROOT, "setup.cfg"))
    print("# The tested set: every package stargan-keras and its extras "
          f"({', '.join(extras)}) need,")
    print(f"# as installed on Python {platform.python_version()} ({sys.platform}). "
          "Made by python tools/pin_constraints.py.")
    print("# Install with: pip install -e '.[test,convert,export,faces,demo]' -c constraints.txt")
    for name, version in pinned(requirements, extras).items():
        print(f"{name}=={version}")


if __name__ == "__main__":
    main()
