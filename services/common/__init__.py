"""Plumbing every Fanfare service repeats. No domain logic lives here."""
