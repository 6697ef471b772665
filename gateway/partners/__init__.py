"""The GraphQL face of partner API keys (created and revoked by marketers)."""
