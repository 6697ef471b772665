"""The GraphQL face of identity: users, the viewer, sign-up, log-in, preferences, erasure."""
