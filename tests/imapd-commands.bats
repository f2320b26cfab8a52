#!/usr/bin/env bats
# pochta-imapd: every command, driven by Python imaplib (tests/imapd/scen.py).
load helpers

setup() { imapd_instance; }
teardown() { stop_all; }

scen() { run python3 "$TESTS_DIR/imapd/scen.py" "$1" "$IMAP_PORT" "${@:2}"; echo "$output"; [ "$status" -eq 0 ]; }

@test "imapd: greeting, CAPABILITY, NOOP" { scen capability; }
@test "imapd: LOGIN wrong password, unknown user, then right" { scen login; }
@test "imapd: AUTHENTICATE PLAIN with SASL-IR, challenge, authzid" { scen authplain; }
@test "imapd: special-use folders exist from the first login" { scen special_use; }
@test "imapd: CREATE LIST LSUB SUBSCRIBE RENAME DELETE, LIST-EXTENDED, LIST-STATUS" { scen folders; }
@test "imapd: RENAME INBOX moves the messages" { scen rename_inbox; }
@test "imapd: APPEND with flags, date, big streamed literal, APPENDUID" { scen append; }
@test "imapd: SELECT EXAMINE UNSELECT CHECK, read-only refuses STORE" { scen select; }
@test "imapd: FETCH items, sections, partial, BINARY, implicit \\Seen" { scen fetch; }
@test "imapd: STORE +FLAGS -FLAGS FLAGS .SILENT, keywords persist" { scen store; }
@test "imapd: SEARCH every key, UID SEARCH, ESEARCH, CHARSET" { scen search; }
@test "imapd: EXPUNGE, UID EXPUNGE, CLOSE, STATUS" { scen expunge; }
@test "imapd: COPY, MOVE, UID MOVE with COPYUID, keywords follow" { scen copy_move; }
@test "imapd: NAMESPACE ID ENABLE IMAP4rev2" { scen misc; }
@test "imapd: UIDs and UIDVALIDITY stable across sessions" { scen uid_stable; }
