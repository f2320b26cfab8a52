#!/usr/bin/env bats
# pochta-imapd: cases imaptest and the security review found (issue 15, 5-8;
# issue 10, 9-10), each with a conversation of its own.
load helpers

setup() { imapd_instance; }
teardown() { stop_all; }

cf() { run python3 "$TESTS_DIR/imapd/conform.py" "$1" "$IMAP_PORT" "$MD"; echo "$output"; [ "$status" -eq 0 ]; }

@test "imapd-conformance: a new keyword comes with FLAGS first, in this session and others" { cf keyword_flags; }
@test "imapd-conformance: LSUB lists an unsubscribed parent with \\Noselect" { cf lsub_parent; }
@test "imapd-conformance: LIST (SUBSCRIBED RECURSIVEMATCH) gives CHILDINFO" { cf list_childinfo; }
@test "imapd-conformance: a literal8 APPEND keeps bare CR and LF (BINARY)" { cf binary_append; }
@test "imapd-conformance: SEARCH FROM/TO match parsed addresses, comments and groups" { cf search_address; }
@test "imapd-conformance: FETCH labels are canonical, never the command's text" { cf fetch_labels; }
@test "imapd-conformance: RENAME into its own child is refused" { cf rename_child; }
