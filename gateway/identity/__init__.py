"""Identity: users, passwords, bearer tokens, cookie sessions, partner API keys.

Plain functions over the gateway's database and Redis; nothing here imports Flask.
"""
