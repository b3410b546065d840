from ._native import FilterBankParams as FilterBankParams, num_threads as num_threads

__version__: str
