"""Endpoint coroutines, grouped by resource and mixed into ``AsyncInstLoanClient``."""
