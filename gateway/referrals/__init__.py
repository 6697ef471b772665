"""The GraphQL face of the referrals service: links, shares, conversions, stats."""
