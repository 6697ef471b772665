"""The GraphQL face of the rewards service: balances, rewards, catalog, leaderboard."""
