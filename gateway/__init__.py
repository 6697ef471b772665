"""The gateway: identity, the public GraphQL API, the portal and the console."""
