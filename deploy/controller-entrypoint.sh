#!/bin/sh
# Entrypoint of the controller image: bring the database schema up to date, then run the
# controller. Configuration comes from WEFT_* environment variables (docs/operations.md).
#
# Migrations run only when the command is the controller (the default): `docker compose run
# controller weft host list` or `sh` run as given and never change the schema.
set -eu

if [ "$#" -eq 0 ]; then
    set -- weft controller
fi
if [ "$1" = weft ] && [ "${2:-}" = controller ]; then
    weft db upgrade
fi
exec "$@"
