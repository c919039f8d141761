#!/bin/sh
# The postgres:15 stand-in's entrypoint: on first start, a UTF8 cluster in $PGDATA (as the
# official image makes it: Weft's driver cannot read a SQL_ASCII server's version string)
# owned by POSTGRES_USER with POSTGRES_PASSWORD (scram-sha-256 over TCP, trust on the unix
# socket inside the container), and the database POSTGRES_DB; then the server, as
# `postgres`, listening on every address of the container.
set -eu
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is not set}"
user=${POSTGRES_USER:-postgres}
database=${POSTGRES_DB:-$user}

if [ "${1:-}" != postgres ]; then
    exec "$@"
fi
mkdir -p "$PGDATA"
chown postgres:postgres "$PGDATA"
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    chown postgres "$pwfile"
    runuser -u postgres -- initdb --pgdata="$PGDATA" --username="$user" --pwfile="$pwfile" \
        --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    if [ "$database" != postgres ]; then
        echo "CREATE DATABASE \"$database\" OWNER \"$user\";" |
            runuser -u postgres -- postgres --single -D "$PGDATA" postgres >/dev/null
    fi
    echo "postgres-entrypoint: new cluster in $PGDATA, database $database"
fi
shift
exec runuser -u postgres -- postgres -D "$PGDATA" -c listen_addresses='*' "$@"
