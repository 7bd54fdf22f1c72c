#!/usr/bin/env bash
# Installs what `make test` needs beyond the Go toolchain, and says what it did:
#   - Debian packages the end-to-end tests drive: docker.io (dockerd, docker,
#     containerd), skopeo, busybox-static (the test image's rootfs), ca-certificates,
#     nginx-light and caddy (the reverse proxies of e2e/nginx_test.go),
#     docker-compose (deploy/compose.yml in e2e/image_test.go), postgresql,
#     mariadb-server, slapd and ldap-utils (the real servers internal/testserver
#     starts for the database and directory backends' tests), chromium (the
#     headless browser e2e/ui_test.go drives through chromedp);
#   - pinned Go tools, built from the Go module proxy into ./bin (among them
#     versitygw, the S3 server of the S3 storage driver's tests).
# Idempotent: anything already present at the pinned version is left alone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

APT_PACKAGES=(docker.io skopeo busybox-static ca-certificates nginx-light caddy docker-compose
	postgresql mariadb-server slapd ldap-utils chromium)

# The OCI distribution-spec conformance suite (a main package at the module root).
CONFORMANCE_PKG=github.com/opencontainers/distribution-spec/conformance
CONFORMANCE_VERSION=v0.0.0-20260831232431-97274622c111
# The real distribution registry, for interoperability tests (and benchmarks).
DISTRIBUTION_PKG=github.com/distribution/distribution/v3/cmd/registry
DISTRIBUTION_MOD=github.com/distribution/distribution/v3
DISTRIBUTION_VERSION=v3.1.2
# A real ACME server for the tls: acme tests.
PEBBLE_PKG=github.com/letsencrypt/pebble/v2/cmd/pebble
PEBBLE_MOD=github.com/letsencrypt/pebble/v2
PEBBLE_VERSION=v2.10.3
# The linter `make lint` runs.
STATICCHECK_PKG=honnef.co/go/tools/cmd/staticcheck
STATICCHECK_MOD=honnef.co/go/tools
STATICCHECK_VERSION=v0.8.2
# versitygw, the S3 server (posix backend) the S3 storage driver's tests start
# (internal/testserver/versitygw.go).
VERSITYGW_PKG=github.com/versity/versitygw/cmd/versitygw
VERSITYGW_MOD=github.com/versity/versitygw
VERSITYGW_VERSION=v1.8.0
# oras attaches a signature to an image in the web interface's browser test
# (Apache-2.0).
ORAS_PKG=oras.land/oras/cmd/oras
ORAS_MOD=oras.land/oras
ORAS_VERSION=v1.3.6
# FerretDB v1 (MongoDB wire protocol over SQLite), the MongoDB server the
# mongo_auth and acl_mongo tests start (internal/testserver/ferretdb.go).
FERRETDB_MOD=github.com/FerretDB/FerretDB
FERRETDB_VERSION=v1.24.2

BIN="$PWD/bin"
log() { printf 'deps: %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if ((${#missing[@]} == 0)); then
	log "Debian packages present: ${APT_PACKAGES[*]}"
else
	sudo=()
	if [[ $(id -u) != 0 ]]; then
		command -v sudo >/dev/null || { log "need root (or sudo) to install: ${missing[*]}"; exit 1; }
		sudo=(sudo)
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt_update() {
		log "apt-get update"
		"${sudo[@]}" apt-get update -qq
		updated=1
	}
	updated=0
	# Lists that are missing or older than a day are refreshed once up front.
	if ! find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | grep -q .; then
		apt_update
	fi
	install() { "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
	log "apt-get install ${missing[*]}"
	if ! install; then
		# A stale list can name versions the mirror no longer has.
		((updated)) && exit 1
		apt_update
		install
	fi
	log "installed: ${missing[*]}"
fi

# --- Go tools --------------------------------------------------------------
# go_tool NAME PACKAGE MODULE VERSION: go install PACKAGE@VERSION into ./bin
# unless bin/NAME was already built from MODULE at VERSION. Every tool is
# built as release binaries are (static, no cgo, -trimpath, stripped), like
# `make build` builds wharf, so that the benchmarks compare like with like.
go_tool() {
	local name=$1 pkg=$2 mod=$3 version=$4 info
	info=$(go version -m "$BIN/$name" 2>/dev/null || true)
	if [[ -x "$BIN/$name" ]] && grep -Eq "^\s+mod\s+$mod\s+$version(\s|$)" <<<"$info" && grep -Eq "^\s+build\s+CGO_ENABLED=0$" <<<"$info"; then
		log "bin/$name present ($mod $version)"
		return
	fi
	log "go install $pkg@$version -> bin/$name"
	CGO_ENABLED=0 GOBIN="$BIN" go install -trimpath -ldflags='-s -w' "$pkg@$version"
}
mkdir -p "$BIN"
go_tool conformance "$CONFORMANCE_PKG" "$CONFORMANCE_PKG" "$CONFORMANCE_VERSION"
go_tool staticcheck "$STATICCHECK_PKG" "$STATICCHECK_MOD" "$STATICCHECK_VERSION"
go_tool registry "$DISTRIBUTION_PKG" "$DISTRIBUTION_MOD" "$DISTRIBUTION_VERSION"
go_tool pebble "$PEBBLE_PKG" "$PEBBLE_MOD" "$PEBBLE_VERSION"
go_tool versitygw "$VERSITYGW_PKG" "$VERSITYGW_MOD" "$VERSITYGW_VERSION"
go_tool oras "$ORAS_PKG" "$ORAS_MOD" "$ORAS_VERSION"

# ferretdb: `go install` builds it but the binary panics at start, because
# the module's build/version/version.txt is generated in FerretDB's own
# release process and empty in the module. So: copy the module from the
# proxy, write the version file, build its cmd/ferretdb.
ferretdb() {
	if [[ -x "$BIN/ferretdb" ]] && "$BIN/ferretdb" --version 2>/dev/null | grep -qx "version: $FERRETDB_VERSION"; then
		log "bin/ferretdb present ($FERRETDB_MOD $FERRETDB_VERSION)"
		return
	fi
	log "building $FERRETDB_MOD@$FERRETDB_VERSION -> bin/ferretdb"
	local dir src
	dir=$(go mod download -json "$FERRETDB_MOD@$FERRETDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[[ -n "$dir" ]] || { log "go mod download $FERRETDB_MOD@$FERRETDB_VERSION gave no directory"; exit 1; }
	src=$(mktemp -d)
	trap 'rm -rf "$src"' RETURN
	cp -R "$dir/." "$src"
	chmod -R u+w "$src"
	echo "$FERRETDB_VERSION" >"$src/build/version/version.txt"
	(cd "$src" && GOFLAGS=-mod=mod go build -trimpath -o "$BIN/ferretdb" ./cmd/ferretdb)
}
ferretdb

log "done"
