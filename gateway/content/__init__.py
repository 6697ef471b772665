"""The GraphQL face of the content service: packs, assets, share kits, feedback."""
