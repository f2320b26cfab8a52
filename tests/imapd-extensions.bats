#!/usr/bin/env bats
# pochta-imapd extensions (issue 15): each through Python's imaplib where it has
# the command, and with hostile arguments.
load helpers

setup() { imapd_instance; }
teardown() { stop_all; }

ext() { run timeout 120 python3 "$TESTS_DIR/imapd/ext.py" "$1" "$IMAP_PORT" "$MD" "${@:2}"; echo "$output"; [ "$status" -eq 0 ]; }

@test "imapd-extensions: SORT by every criterion, REVERSE, UID SORT, DISPLAYFROM/TO" { ext sort; }
@test "imapd-extensions: ESORT and PARTIAL, ranges from the end" { ext esort; }
@test "imapd-extensions: CONTEXT=SEARCH/SORT updates, CANCELUPDATE, NOUPDATE" { ext context; }
@test "imapd-extensions: THREAD REFERENCES and ORDEREDSUBJECT, loops, duplicate ids" { ext thread; }
@test "imapd-extensions: hostile THREAD: trees thousands deep, 20,000 references" { ext thread_deep; }
@test "imapd-extensions: hostile SORT: 20,000 messages, 4096 ranges" { ext sort_huge; }
@test "imapd-extensions: WITHIN, SAVEDATE, STATUS SIZE" { ext within_savedate_size; }
@test "imapd-extensions: MULTIAPPEND all or none, big literals, limits" { ext multiappend; }
@test "imapd-extensions: CATENATE text and URL parts; bad, outside and expunged URLs" { ext catenate; }
@test "imapd-extensions: OBJECTID: MAILBOXID, EMAILID of copies, SEARCH EMAILID" { ext objectid; }
@test "imapd-extensions: CREATE-SPECIAL-USE, kept by RENAME, USEATTR" { ext create_special_use; }
@test "imapd-extensions: UID FETCH (PARTIAL range)" { ext fetch_partial; }

@test "imapd-extensions: NOTIFY between commands and in IDLE, NOTIFY NONE" {
  printf 'From: bob@example.test\nSubject: delivered\n\nhello\n' >"$BATS_TEST_TMPDIR/m"
  ext notify "pochta-deliver '%s' <'$BATS_TEST_TMPDIR/m'"
}
@test "imapd-extensions: hostile NOTIFY: 600 mailboxes, limits, bad events" { ext notify_hostile; }
