"""Agencies, units, users and their roles, delegations, login and the password policy."""
