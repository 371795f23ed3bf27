# shellcheck shell=bash
# Sourced by scripts/check-valgrind.sh and scripts/check-suppressions.sh: the
# one valgrind command line both run under, so the proof that the
# suppressions still report a leak is made with the flags the tests use. Any
# memory error or definite leak makes valgrind exit 99.
export IMAGEGEN_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full \
--errors-for-leak-kinds=definite --show-leak-kinds=definite \
--suppressions=$PWD/tests/valgrind.supp"
