#!/usr/bin/env bash
# Entrypoint of obsdemo.local/postgres (PostgreSQL from Debian): the parts of the official postgres image's
# entrypoint contract that charts/postgres and its users rely on.
#
#   POSTGRES_PASSWORD / POSTGRES_PASSWORD_FILE  superuser password (required for a new data directory unless
#                                                POSTGRES_HOST_AUTH_METHOD=trust)
#   POSTGRES_USER (_FILE)   superuser name, default postgres     POSTGRES_DB (_FILE)  database created, default $POSTGRES_USER
#   POSTGRES_INITDB_ARGS    extra initdb arguments                POSTGRES_HOST_AUTH_METHOD  default scram-sha-256
#   PGDATA                  data directory, default /var/lib/postgresql/data
#   /docker-entrypoint-initdb.d/  *.sh (run if executable, else sourced), *.sql, *.sql.gz: once, on a new data
#                                 directory, against a server listening only on its Unix socket
#
# Run as root, it prepares the directories and re-executes itself as postgres; run as any other uid, it needs write
# access to PGDATA and /var/run/postgresql (the chart: fsGroup and emptyDirs). A uid without a passwd entry gets
# one through nss_wrapper, since initdb needs a user name.
set -Eeuo pipefail

die() {
  echo "docker-entrypoint.sh: $*" >&2
  exit 1
}

# VAR or VAR_FILE (a file holding the value), not both; DEFAULT when neither is set.
file_env() {
  local var=$1 file_var=${1}_FILE default=${2:-}
  [[ -n ${!var:-} && -n ${!file_var:-} ]] && die "both $var and $file_var are set (they are exclusive)"
  local value=$default
  if [[ -n ${!var:-} ]]; then value=${!var}; elif [[ -n ${!file_var:-} ]]; then value=$(<"${!file_var}"); fi
  export "$var"="$value"
  unset "$file_var"
}

wants_help() {
  local arg
  for arg; do case $arg in -'?' | --help | --describe-config | -V | --version) return 0 ;; esac; done
  return 1
}

run_init_files() {
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    [[ -e $f ]] || continue
    case $f in
      *.sh)
        if [[ -x $f ]]; then
          echo "running $f"
          "$f"
        else
          # Sourced as the official entrypoint does, so without -u (a script may test unset variables).
          echo "sourcing $f"
          set +u
          # shellcheck disable=SC1090
          source "$f"
          set -u
        fi
        ;;
      *.sql) echo "running $f"; psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --dbname postgres -f "$f" ;;
      *.sql.gz) echo "running $f"; gunzip -c "$f" | psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --dbname postgres ;;
      *) echo "ignoring $f" ;;
    esac
  done
}

if [[ ${1:0:1} == - ]]; then
  set -- postgres "$@"
fi

if [[ $1 == postgres ]] && ! wants_help "$@"; then
  export PGDATA=${PGDATA:-/var/lib/postgresql/data}
  if [[ $(id -u) == 0 ]]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 0700 "$PGDATA"
    chmod 3777 /var/run/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
  fi

  if ! getent passwd "$(id -u)" >/dev/null; then
    wrapper=$(echo /usr/lib/*/libnss_wrapper.so)
    [[ -f $wrapper ]] || die "uid $(id -u) has no passwd entry and nss_wrapper is missing"
    NSS_WRAPPER_PASSWD=$(mktemp) NSS_WRAPPER_GROUP=$(mktemp)
    export NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP LD_PRELOAD=$wrapper
    echo "postgres:x:$(id -u):$(id -g):PostgreSQL:$PGDATA:/bin/false" >"$NSS_WRAPPER_PASSWD"
    echo "postgres:x:$(id -g):" >"$NSS_WRAPPER_GROUP"
  fi

  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}

  mkdir -p "$PGDATA" || die "cannot create PGDATA=$PGDATA as uid $(id -u)"
  chmod 0700 "$PGDATA" 2>/dev/null || true
  [[ -w $PGDATA ]] || die "PGDATA=$PGDATA is not writable by uid $(id -u)"

  if [[ ! -s $PGDATA/PG_VERSION ]]; then
    [[ -n $POSTGRES_PASSWORD || $auth == trust ]] ||
      die "the data directory is empty and no superuser password is set: set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (or POSTGRES_HOST_AUTH_METHOD=trust, which allows anyone in)"
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of arguments
    if [[ -n $POSTGRES_PASSWORD ]]; then
      initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
    else
      initdb --username="$POSTGRES_USER" $POSTGRES_INITDB_ARGS
    fi
    printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

    # A temporary server on the Unix socket only, for the init scripts.
    export PGUSER=$POSTGRES_USER PGPASSWORD=$POSTGRES_PASSWORD
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
    if [[ $POSTGRES_DB != postgres ]]; then
      psql -v ON_ERROR_STOP=1 --no-password --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
    fi
    run_init_files
    pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGUSER PGPASSWORD
    echo "PostgreSQL init process complete; ready for start up."
  else
    echo "PostgreSQL data directory $PGDATA contains a database; skipping initialisation."
  fi
fi

exec "$@"
