#!/usr/bin/env bash
# test_runtime_dir: scripts/lib/stack.sh's choice of the stack's runtime
# directory (stack_runtime_dir), which lets `scripts/dev up` run from a
# checkout that postgres/www-data cannot reach (under /root, in a
# `mktemp -d`). As root: an unreachable directory gives way to
# $STACK_RUNTIME_BASE/support-<hash of the key>, the same for the same key
# and another for another; a reachable one is kept. Not root: every part of
# the stack runs as this user, so the directory is always kept.
# Exit: 0 pass, 1 fail (make check's convention).
set -uo pipefail

# shellcheck source=t/shell/stack_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/stack_test.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/support-rt.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
chmod 700 "$tmp"   # what mktemp makes: only its owner gets in
export STACK_RUNTIME_BASE=$tmp/base
checkout=$tmp/checkout
mkdir -p "$checkout"

got=$(stack_runtime_dir "$checkout/var" "$checkout")
if [ "$(id -u)" -ne 0 ] || ! id -u postgres >/dev/null 2>&1; then
    expect "not root: the directory is kept" "$got" "$checkout/var"
    exit $failed
fi

[[ $got =~ ^$tmp/base/support-[0-9a-f]{12}$ ]] && ok=yes || ok="no ($got)"
expect "unreachable: a runtime directory of our own" "$ok" yes
expect "the same checkout gets the same one" "$(stack_runtime_dir "$checkout/var" "$checkout")" "$got"
other=$(stack_runtime_dir "$tmp/elsewhere/var" "$tmp/elsewhere")
[ "$other" != "$got" ] && ok=yes || ok=no
expect "another checkout gets another" "$ok" yes
expect "the unreachable directory is named" "$(_stack_traversable "$checkout/var")" "$tmp"

chmod 755 "$tmp"
if _stack_traversable "$tmp" >/dev/null; then
    expect "reachable: the directory is kept" "$(stack_runtime_dir "$checkout/var" "$checkout")" \
        "$checkout/var"
else
    echo "skip: ${TMPDIR:-/tmp} itself is not reachable by postgres/www-data"
fi
exit $failed
