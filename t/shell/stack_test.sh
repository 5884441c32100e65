# shellcheck shell=bash
# stack_test.sh — sourced by the shell tests of scripts/lib/stack.sh
# (test_runtime_dir.sh, test_stack_job.sh): the source tree, stack.sh
# itself, and expect NAME GOT WANT, which prints ok/FAIL and sets
# failed=1 on a mismatch (exit with $failed: make check's convention).
top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=scripts/lib/stack.sh
. "$top_srcdir/scripts/lib/stack.sh"

# shellcheck disable=SC2034  # read by the test that sources this
failed=0
expect() {
    if [ "$2" = "$3" ]; then
        echo "ok: $1"
    else
        echo "FAIL: $1: got '$2', want '$3'"
        # shellcheck disable=SC2034
        failed=1
    fi
}
