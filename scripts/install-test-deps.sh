#!/bin/sh
# install-test-deps.sh installs what the test suite needs beyond Go:
# PostgreSQL's server binaries (Debian's postgresql package), for the
# throwaway cluster internal/pgtest starts, and nats-server, for the device
# channel tests against a real server, and Debian's chromium, for the
# browser tests of the web apps (e2e/, driven by playwright-core, whose
# npm packages `make deps` installs with npm ci). It is idempotent: with
# everything present it changes nothing. Run it as root (or with sudo) on a
# Debian-like system; it never prompts.
set -eu

say() { printf 'install-test-deps: %s\n' "$*"; }

have_initdb() {
	for f in /usr/lib/postgresql/*/bin/initdb; do
		[ -x "$f" ] && return 0
	done
	command -v initdb >/dev/null 2>&1
}

have_nats() {
	command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]
}

have_chromium() {
	[ -x /usr/bin/chromium ]
}

missing=
have_initdb || missing="$missing postgresql"
have_nats || missing="$missing nats-server"
have_chromium || missing="$missing chromium"

if [ -z "$missing" ]; then
	say "PostgreSQL, nats-server and chromium present; nothing to do"
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	say "missing:$missing and apt-get is unavailable: install them by hand," >&2
	say "or point the PostgreSQL tests at a server with PARCELGUARD_TEST_POSTGRES=postgres://..." >&2
	exit 1
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo -n"
	else
		say "installing$missing needs root; run this script as root" >&2
		exit 1
	fi
fi

say "missing:$missing; installing Debian's packages"
say "running: apt-get update"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update </dev/null
say "running: apt-get install -y --no-install-recommends$missing"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing </dev/null

if ! have_initdb || ! have_nats || ! have_chromium; then
	say "installed, but initdb, nats-server or chromium is still missing" >&2
	exit 1
fi
# Debian's packages may start services of their own; the tests do not use
# them (they start their own servers on free loopback ports).
