"""The ``fanfare`` command and the registry of the four apps."""
