"""The built-in sample district: a seeded, synthetic Yangpu with months of department extracts.

``generate`` writes what the departments would drop (household register, moves, marriages,
deaths, the aid roster, the elderly-services list and the labour archive) into one directory, and
the alerts a correct aid sentinel must raise into another.
"""

from .district import GenerationSummary, generate

__all__ = ["GenerationSummary", "generate"]
