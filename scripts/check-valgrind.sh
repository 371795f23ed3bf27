#!/usr/bin/env bash
# Runs a representative set of integration tests with the binary under
# valgrind memcheck: generate, edit, variation, batch with faults, streaming,
# image work, metadata, the MCP server and the job ledger (claims, B1 partial
# names, B6 lines moved, B9 folders, old manifests imported, status), chosen by
# test name: "ledger" would take all of test_54, its timing tests too. Any
# memory error or definite leak makes valgrind exit 99
# (scripts/valgrind-wrapper.sh), which fails the test that ran it.
set -euo pipefail
cd "$(dirname "$0")/.."

ninja -C "${BUILD:-build}" >/dev/null
# shellcheck source=scripts/valgrind-wrapper.sh
. scripts/valgrind-wrapper.sh
# First, that the suppressions still let a leak of the tool's own through
# (a few seconds): otherwise a clean run below would prove nothing.
./scripts/check-suppressions.sh
# Tests that signal or kill the process (Popen) run it without the wrapper,
# and the timing tests are left out: valgrind is 20-50 times slower.
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests \
	-k "${VALGRIND_TESTS:-test_defaults_are_gpt_image_2 or dall_e or n_3 or json or dry_run \
or retried or not_retried or invalid or truncat or reset or edit_with or mask or json_form \
or variation_ or fail_fast or quota or stream or downscale or chroma \
or metadata or sidecar or gallery or azure or engine_alone or header_value or provenance \
or base_url_credentials or a_gif_is_requested or gif_records or gif_downscaled \
or an_svg_records or cut_short or markup_line or signed_image or resumes_by_its_input \
or batch_makes_gifs or disk_without_room or every_paid_request or max_cost_refuses \
or stops_launching or usage_since or one_batch_and_saves or failed_line or an_expired_batch \
or edit_lines_go_in or split_into or cancel_cancels or profile or api_key_command \
or models_json or remote_merges or verbose_traces or version_names \
or the_ledger_is_sqlite or the_ledger_records or ledger_that_is_not_a_database \
or named_like_the_ledger or ledger_keyed_by_id or known_by_what_it_sends or reserved_name \
or claims_of_ or claim_from or partial_name_that or inserting_a_line \
or deleting_and_reordering or derived_folder or imported_once or corrupt_manifest \
or supersedes or test_status_ or mcp}" \
	--deselect tests/test_00_standin.py --deselect tests/test_01_standin_edits.py \
	--deselect tests/test_03_standin_azure.py --deselect tests/test_04_standin_today.py \
	--deselect tests/test_05_standin_batches.py
