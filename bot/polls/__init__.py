"""Moderator polls on the reading's claims: plain domain logic, no SDK imports."""
