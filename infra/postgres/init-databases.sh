#!/usr/bin/env bash
# Creates one PostgreSQL database per Fanfare app: no app reads another's tables.
#
# docker-compose.yml mounts this file into /docker-entrypoint-initdb.d, so the
# postgres image runs it once, when the server starts on an empty data
# directory. Each database is owned by $POSTGRES_USER; the apps' migrations
# (`fanfare migrate <app>`) then create the tables.
#
# Safe to run again, e.g. after adding an app to an existing installation:
#   docker compose exec postgres /docker-entrypoint-initdb.d/10-fanfare-databases.sh
set -euo pipefail

# One per app in fanfare/apps.py.
FANFARE_DATABASES=(gateway content referrals rewards)

for database in "${FANFARE_DATABASES[@]}"; do
    echo "fanfare: database ${database}"
    psql --no-psqlrc --set=ON_ERROR_STOP=1 \
        --username="${POSTGRES_USER:-postgres}" --dbname="${POSTGRES_DB:-postgres}" \
        --set=database="${database}" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'database', current_user)
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database')
\gexec
SQL
done
