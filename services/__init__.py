"""Linli's services (tickets, library, volunteers, notify) and the ``linli`` command that runs them."""
