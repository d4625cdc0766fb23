# Sourced by scripts/test.sh: start a private PostgreSQL 15 cluster with PostGIS on a free port and
# export CADASTRA_TEST_PG (a postgresql:// URL). Without it the PostGIS tests skip and say so.
PGBIN=/usr/lib/postgresql/15/bin
if [ -x "$PGBIN/initdb" ]; then
  PGTEST_DIR=$(mktemp -d /tmp/cadastra-pg.XXXXXX)
  chmod 755 "$PGTEST_DIR"
  PGPORT_TEST=$(( 20000 + RANDOM % 20000 ))
  as_pg() { if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$PGTEST_DIR"; su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
  as_pg "$PGBIN/initdb -D $PGTEST_DIR/data -U cadastra --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null"
  as_pg "$PGBIN/pg_ctl -D $PGTEST_DIR/data -o '-p $PGPORT_TEST -k $PGTEST_DIR -c listen_addresses=127.0.0.1 -c fsync=off' -l $PGTEST_DIR/log -w start >/dev/null"
  trap 'as_pg "$PGBIN/pg_ctl -D $PGTEST_DIR/data -m immediate stop" >/dev/null 2>&1; rm -rf "$PGTEST_DIR"' EXIT
  psql -h 127.0.0.1 -p "$PGPORT_TEST" -U cadastra -d postgres -qc "CREATE DATABASE cadastra_test" >/dev/null
  psql -h 127.0.0.1 -p "$PGPORT_TEST" -U cadastra -d cadastra_test -qc "CREATE EXTENSION postgis" >/dev/null
  export CADASTRA_TEST_PG="postgresql://cadastra@127.0.0.1:$PGPORT_TEST/cadastra_test"
  echo "PostGIS test cluster: $CADASTRA_TEST_PG" >&2
fi
