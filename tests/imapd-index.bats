#!/usr/bin/env bats
# pochta-imapd: the folder index (pochta-index), see imapd/index.c.
load helpers

setup() { imapd_instance; }
teardown() { stop_all; [ -z "${SHM:-}" ] || rm -rf "$SHM"; }

ix() { run python3 "$TESTS_DIR/imapd/index.py" "$1" "$IMAP_PORT"; echo "$output"; [ "$status" -eq 0 ]; }

@test "index: later SELECTs map it unchanged; a file renamed by another program is seen" { ix warm; }
@test "index: damaged, short, reordered or out-of-range index is not used and is rebuilt" { ix damaged; }
@test "index: what STORE, APPEND and EXPUNGE put into it equals a full scan" { ix published; }
@test "index: a rename by another program in the tick of a STORE shows at the next command" { ix same_tick; }

@test "index: a session's own memory does not grow with the selected mailbox" {
  # ASan keeps freed memory in quarantine: RssAnon says nothing there
  [ -z "${POCHTA_SAN:-}" ] || skip "not meaningful under ASan"
  ix memory
}

@test "index: APPEND after a torn, garbled, overlong or missing uid-list tail keeps uids unique" { ix uidlist_tail; }
@test "index: sessions, deliveries and another program at once: the index equals a scan" { ix stress; }

@test "index: on tmpfs (no multigrain times: unconfirmed views) changes show at the next command too" {
  [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] || skip "no tmpfs at /dev/shm"
  SHM=$(mktemp -d /dev/shm/pochta-test.XXXXXX)
  local k=0 s
  for s in two_sessions same_tick published stress; do
    stop_all
    k=$((k + 1))
    instance_new "$SHM/i$k"
    allow_plain_auth
    start_imapd
    export MD=$(maildir_of alice@example.test)
    if [ $s = two_sessions ]; then run python3 "$TESTS_DIR/imapd/scen.py" $s "$IMAP_PORT"; echo "$output"; [ "$status" -eq 0 ]
    else ix $s; fi
  done
}
