"""Built-in method presets. Each module registers its factory on import.

A new method is one decorated function returning a MethodSpec, in a module listed
here, or in any installed package under the entry-point group `ssl_bench.methods`.
"""

from ssl_bench.methods import barlow_twins, byol, moco_v2, simclr, simsiam, vicreg  # noqa: F401
