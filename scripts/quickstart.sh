#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# The one "run it" command: install what is needed, build build/rosterd,
# create ./data/rosterd.db with a tenant "default" and an API token on the
# first run, print the SCIM base URL and token, then run the server in the
# foreground (Ctrl-C stops it).
#
# Environment:
#   ROSTERD_LISTEN       address:port to listen on (default 127.0.0.1:8080)
#   ROSTERD_SKIP_SETUP=1 do not check/install packages
# Extra arguments are passed to `rosterd serve`, e.g.
#   ./scripts/quickstart.sh --tls-cert cert.pem --tls-key key.pem
set -euo pipefail

cd "$(dirname "$0")/.."

LISTEN=${ROSTERD_LISTEN:-127.0.0.1:8080}
DATA=./data
DB=$DATA/rosterd.db
BIN=build/rosterd
TENANT=default

# The database holds personal data and token hashes: keep it private.
umask 077

say() { printf '==> %s\n' "$*" >&2; }

say "checking packages (scripts/setup.sh)"
./scripts/setup.sh

say "building $BIN"
export LC_ALL=C.UTF-8
if [[ ! -f build/meson-private/coredata.dat ]]; then
	meson setup build
fi
ninja -C build

if [[ ! -d "$DATA" ]]; then
	say "creating $DATA (mode 700)"
	mkdir -m 700 "$DATA"
fi

say "migrating $DB"
"$BIN" migrate --db "$DB" >/dev/null

# Does the tenant exist already? (`tenant list --json`: an array of objects
# with a "name" member.)
tenant_exists() {
	"$BIN" tenant list --json --db "$DB" |
		python3 -c 'import json, sys
sys.exit(0 if any(t.get("name") == sys.argv[1] for t in json.load(sys.stdin)) else 1)' "$TENANT"
}

token=""
if tenant_exists; then
	say "tenant \"$TENANT\" already exists in $DB"
else
	say "creating tenant \"$TENANT\" and an API token (scopes scim,admin)"
	"$BIN" tenant create "$TENANT" --db "$DB" >/dev/null
	# The secret is printed once, alone on stdout; only its hash is stored.
	token=$("$BIN" token create --tenant "$TENANT" --scopes scim,admin \
		--name quickstart --db "$DB")
fi

# The URL to show: a wildcard listen address is reached locally on loopback.
host=${LISTEN%:*}
port=${LISTEN##*:}
case "$host" in
"" | 0.0.0.0 | "[::]" | "::") host=127.0.0.1 ;;
esac
scheme=http
for arg in "$@"; do
	case "$arg" in
	--tls-cert | --tls-cert=*) scheme=https ;;
	esac
done
BASE="$scheme://$host:$port/scim/v2"

shown_token=${token:-'<YOUR-TOKEN>'}
cat <<EOF

  rosterd is starting.

  SCIM base URL:  $BASE
EOF
if [[ -n "$token" ]]; then
	cat <<EOF
  Bearer token:   $token

  This token is shown only once (rosterd stores only its hash). Paste the
  URL and the token into Okta or Entra ID: see docs/idp/okta.md and
  docs/idp/entra.md.
EOF
else
	cat <<EOF
  Bearer token:   (created on the first run and shown only then)

  To make a new token:
    $BIN token create --tenant $TENANT --scopes scim,admin --db $DB
  To list and revoke tokens:
    $BIN token list --db $DB
    $BIN token revoke TOKEN_ID --db $DB
EOF
fi
cat <<EOF

  Try it (in another terminal):
    curl -s -H 'Authorization: Bearer $shown_token' \\
      -H 'Content-Type: application/scim+json' \\
      -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@example.com","name":{"givenName":"Ada","familyName":"Lovelace"}}' \\
      $BASE/Users

    curl -s -H 'Authorization: Bearer $shown_token' \\
      '$BASE/Users?filter=userName%20eq%20%22ada@example.com%22'

  Okta and Entra ID reach the server from the internet: run it on a reachable
  host with TLS (--tls-cert/--tls-key, or behind a TLS reverse proxy) and give
  them https://HOST:PORT/scim/v2. See docs/configuration.md.

EOF

say "exec $BIN serve --db $DB --listen $LISTEN${*:+ $*}"
exec "$BIN" serve --db "$DB" --listen "$LISTEN" "$@"
