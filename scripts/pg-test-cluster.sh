# Sourced by scripts/test.sh: start a private PostgreSQL 15 cluster with PostGIS on a free port and
# export CADASTRA_TEST_PG (a postgresql:// URL). Without it the PostGIS tests skip and say so.
#
#   source scripts/pg-test-cluster.sh    # as root (runs the server as postgres) or as any user
#
# The cluster lives in a temporary directory and is stopped and removed when the sourcing shell
# exits. A CADASTRA_TEST_PG already set is kept (point it at your own server: a database with
# PostGIS where the role may create schemas, roles and databases). Returns non-zero, saying why,
# when the server is installed but cannot be started; never `exit`s the sourcing shell.
cadastra_pg_test_cluster() {
  local pgbin=/usr/lib/postgresql/15/bin
  if [ -n "${CADASTRA_TEST_PG:-}" ]; then
    echo "PostGIS tests use the given server: ${CADASTRA_TEST_PG%%\?*}" | sed 's#//[^@/]*:[^@/]*@#//…@#' >&2
    return 0
  fi
  if [ ! -x "$pgbin/initdb" ]; then
    echo "PostgreSQL 15 not installed: PostGIS tests will be skipped (scripts/setup-system.sh --test installs it)" >&2
    return 0
  fi
  PGTEST_DIR=$(mktemp -d /tmp/cadastra-pg.XXXXXX) || return 1
  chmod 755 "$PGTEST_DIR"
  cadastra_as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
      chown -R postgres "$PGTEST_DIR" && su postgres -s /bin/sh -c "$*"
    else
      sh -c "$*"
    fi
  }
  trap 'cadastra_as_pg "'"$pgbin"'/pg_ctl -D $PGTEST_DIR/data -m immediate stop" >/dev/null 2>&1; rm -rf "$PGTEST_DIR"' EXIT
  if ! cadastra_as_pg "$pgbin/initdb -D $PGTEST_DIR/data -U cadastra --auth=trust -E UTF8 --locale=C.UTF-8 >$PGTEST_DIR/initdb.log 2>&1"; then
    echo "initdb failed, see $PGTEST_DIR/initdb.log:" >&2
    tail -5 "$PGTEST_DIR/initdb.log" >&2
    return 1
  fi
  # a random port; another one if it is taken
  local try port=""
  for try in 1 2 3 4 5; do
    port=$(( 20000 + RANDOM % 20000 ))
    if cadastra_as_pg "$pgbin/pg_ctl -D $PGTEST_DIR/data -o '-p $port -k $PGTEST_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off' -l $PGTEST_DIR/log -w -t 60 start >/dev/null 2>&1"; then
      break
    fi
    port=""
  done
  if [ -z "$port" ]; then
    echo "the PostgreSQL test cluster did not start, see $PGTEST_DIR/log:" >&2
    tail -5 "$PGTEST_DIR/log" >&2
    return 1
  fi
  PGPORT_TEST=$port
  if ! psql -h 127.0.0.1 -p "$port" -U cadastra -d postgres -qc "CREATE DATABASE cadastra_test" >/dev/null ||
     ! psql -h 127.0.0.1 -p "$port" -U cadastra -d cadastra_test -qc "CREATE EXTENSION postgis" >/dev/null; then
    echo "could not prepare the test database (is postgresql-15-postgis-3 installed?)" >&2
    return 1
  fi
  export CADASTRA_TEST_PG="postgresql://cadastra@127.0.0.1:$port/cadastra_test"
  echo "PostGIS test cluster: $CADASTRA_TEST_PG" >&2
}
cadastra_pg_test_cluster
