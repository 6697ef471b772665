"""What every gateway domain shares: backends, errors, permissions, limits."""
