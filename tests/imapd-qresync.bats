#!/usr/bin/env bats
# pochta-imapd: QRESYNC (RFC 7162 section 3.2).
load helpers

setup() { imapd_instance; }
teardown() { stop_all; }

qr() { run python3 "$TESTS_DIR/imapd/qresync.py" "$1" "$IMAP_PORT"; echo "$output"; [ "$status" -eq 0 ]; }

@test "qresync: CAPABILITY, ENABLE QRESYNC enables CONDSTORE, parameters only after it" { qr enable; }
@test "qresync: SELECT (QRESYNC ...) gives VANISHED (EARLIER) then FETCH of what changed" { qr select; }
@test "qresync: UID FETCH (CHANGEDSINCE n VANISHED), and BAD where it is not allowed" { qr fetch_vanished; }
@test "qresync: expunges reach a QRESYNC session as VANISHED, others as EXPUNGE" { qr unsolicited; }
@test "qresync: hostile QRESYNC parameters answer BAD, the session goes on" { qr hostile; }
