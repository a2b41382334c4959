#!/usr/bin/env bash
# Installs the Debian packages the test suite runs against (real servers and tools, no mocks)
# when any is missing. Idempotent and quiet: nothing is printed and apt is not touched when
# everything is there; `apt-get update` runs at most once, and only when something is missing,
# because a fresh machine's package lists may be empty or stale.
set -euo pipefail

# package -> a file that proves it is installed (cheaper and more robust than dpkg queries)
declare -A PROBE=(
  [dovecot-imapd]=/usr/lib/dovecot/imap
  [openssl]=/usr/bin/openssl
  [gpgsm]=/usr/bin/gpgsm
  [chromium]=/usr/bin/chromium
  [sqlite3]=/usr/bin/sqlite3
  [postgresql]=/usr/lib/postgresql/15/bin/initdb
  [postfix]=/usr/sbin/postfix
  [swaks]=/usr/bin/swaks
  [dovecot-sieve]=/usr/lib/dovecot/modules/sieve/lib90_sieve_extprograms_plugin.so
  [opendkim-tools]=/usr/sbin/opendkim-testmsg
  [python3-dkim]=/usr/bin/dkimverify
)

missing=()
for pkg in "${!PROBE[@]}"; do
  [[ -e "${PROBE[$pkg]}" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); else
    echo "test-deps: missing ${missing[*]} and not root (no sudo): install them first" >&2
    exit 1
  fi
fi

echo "test-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# postfix's postinst asks what kind of mail system this is: the tests write their own
# throwaway loopback configs, so answer "No configuration".
echo "postfix postfix/main_mailer_type select No configuration" | "${SUDO[@]}" debconf-set-selections
"${SUDO[@]}" apt-get update -qq >/dev/null
# dovecot-core's postinst would start a system dovecot on 143/993; the tests run their own on
# free loopback ports, so keep the system service from starting (policy-rc.d 101 = deny).
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
  "${SUDO[@]}" chmod +x "$policy"
  made_policy=1
fi
status=0
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
[[ $made_policy -eq 1 ]] && "${SUDO[@]}" rm -f "$policy"
if [[ $status -ne 0 ]]; then
  echo "test-deps: apt-get install ${missing[*]} failed (exit $status)" >&2
  exit "$status"
fi
