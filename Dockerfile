# The Weft controller image: Debian 12 slim, its Python 3.11, and the project (without the
# dev extra) in the virtualenv /opt/weft.
#
#   docker build -t weft-controller .
#   docker run -e WEFT_DATABASE_URL=postgresql://weft:PASSWORD@DBHOST/weft \
#              -e WEFT_CONTROLLER_TARGET=tcp:IP:6653 weft-controller
#
# The entrypoint (deploy/controller-entrypoint.sh) brings the database schema up to date with
# `weft db upgrade`, then runs `weft controller`, configured by WEFT_* environment variables
# (docs/operations.md lists them all). Any other command, e.g. `weft host list`, runs as
# given. docker-compose.yml runs this image with PostgreSQL and three OVS hosts.
FROM debian:12-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*

ENV PATH=/opt/weft/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The dependencies first, read from pyproject.toml alone: a change in the code then rebuilds
# only the layers below, not this download.
COPY pyproject.toml /src/
RUN python3 -m venv /opt/weft \
    && python3 -c 'import tomllib; print("\n".join(tomllib.load(open("/src/pyproject.toml", "rb"))["project"]["dependencies"]))' \
        >/src/requirements.txt \
    && pip install -r /src/requirements.txt

# Every package but lab/ (a development tool: namespaces on one machine), so this image has
# no `weft lab` or `weft demo`.
COPY README.md /src/
COPY admin /src/admin
COPY api /src/api
COPY controller /src/controller
COPY northbound /src/northbound
COPY migrations /src/migrations
COPY models /src/models
COPY ovsdb /src/ovsdb
RUN pip install --no-deps /src && rm -rf /src

COPY deploy/controller-entrypoint.sh /usr/local/bin/weft-entrypoint
COPY deploy/register-hosts.sh /usr/local/bin/weft-register-hosts

# The controller needs none of root's powers: it only opens TCP connections and listens on
# unprivileged ports. Its home holds the SQLite default database if no URL is given.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/weft weft
USER weft
WORKDIR /var/lib/weft

ENV WEFT_LOG_FORMAT=json \
    WEFT_METRICS_LISTEN=0.0.0.0:9464
# OpenFlow from the switches; Prometheus /metrics.
EXPOSE 6653 9464

ENTRYPOINT ["weft-entrypoint"]
CMD ["weft", "controller"]
