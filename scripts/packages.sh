#!/usr/bin/env bash
# Sourced by the scripts that install what they need:
# ensure_packages WHAT PACKAGE... installs the Debian packages not yet
# installed (saying so, as "reframe: installing WHAT: ..."), as root or by sudo.
ensure_packages() {
    local what=$1 p missing="" sudo=""
    shift
    [ "$(id -u)" = 0 ] || sudo=sudo
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    [ -n "$missing" ] || return 0
    echo "reframe: installing $what:$missing"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends $missing < /dev/null > /dev/null
}
