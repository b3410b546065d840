from ._native import Bank as Bank, num_threads as num_threads

__version__: str
