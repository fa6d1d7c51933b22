"""Missed contacts: planned next steps that passed with nothing logged since."""
