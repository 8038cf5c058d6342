#!/usr/bin/env bash
# Sourced by the scripts that install what they need:
# ensure_packages WHAT PACKAGE... installs the Debian packages not yet
# installed (saying so, as "reframe: installing WHAT: ..."), as root or by
# sudo.  Another apt or dpkg run holding its locks (an unattended upgrade,
# a second script) is waited for, up to ten minutes, not failed on.
ensure_packages() {
    local what=$1 p missing="" sudo="" i err
    shift
    [ "$(id -u)" = 0 ] || sudo=sudo
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    [ -n "$missing" ] || return 0
    echo "reframe: installing $what:$missing"
    export DEBIAN_FRONTEND=noninteractive
    # apt-get update takes the lists lock, which DPkg::Lock::Timeout does not cover
    for ((i = 0; i < 120; i++)); do
        err=$($sudo apt-get -o DPkg::Lock::Timeout=600 update -qq 2>&1 >/dev/null) && break
        grep -qi "lock" <<<"$err" || { echo "$err" >&2; break; }
        sleep 5
    done
    $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing < /dev/null > /dev/null
}
