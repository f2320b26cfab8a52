#!/usr/bin/env bats
# pochta-imapd: two sessions at once, IDLE with a delivery, UIDs under concurrency.
load helpers

setup() { imapd_instance; }
teardown() { stop_all; }

scen() { run python3 "$TESTS_DIR/imapd/scen.py" "$1" "$IMAP_PORT" "${@:2}"; echo "$output"; [ "$status" -eq 0 ]; }

@test "imapd: two sessions see each other's flags, appends and expunges" {
  scen two_sessions
}

@test "imapd: IDLE reports a pochta-deliver delivery (inotify, latency printed)" {
  printf 'From: bob@example.test\nSubject: pushed\n\nhello\n' >"$BATS_TEST_TMPDIR/m"
  # log in once so that the Maildir exists with its folders
  scen uid_stable
  run python3 "$TESTS_DIR/imapd/scen.py" idle "$IMAP_PORT" "pochta-deliver '$MD' <'$BATS_TEST_TMPDIR/m'"
  echo "$output"
  [ "$status" -eq 0 ]
}

@test "imapd: IDLE sees a file written into new/ by hand" {
  scen uid_stable
  run python3 "$TESTS_DIR/imapd/scen.py" idle "$IMAP_PORT" "printf 'Subject: x\n\nbody\n' >'$MD/tmp/h1' && mv '$MD/tmp/h1' '$MD/new/1700000000.M1P1.host'"
  echo "$output"
  [ "$status" -eq 0 ]
}

@test "imapd: three sessions appending and deliveries at once keep UIDs unique" {
  scen uid_stable   # 3 messages
  printf 'Subject: delivered\n\nx\n' >"$BATS_TEST_TMPDIR/m"
  pids=()
  for i in 1 2 3; do
    python3 "$TESTS_DIR/imapd/scen.py" append_many "$IMAP_PORT" 20 >"$BATS_TEST_TMPDIR/a$i.log" 2>&1 & pids+=($!)
  done
  for i in $(seq 1 20); do
    { printf 'Subject: delivered %d\n\nx\n' "$i" | pochta-deliver "$MD"; } || true
  done
  for p in "${pids[@]}"; do wait "$p"; done
  cat "$BATS_TEST_TMPDIR"/a*.log
  scen check_uids 83
  # and again: nothing renumbered in a later session
  run python3 "$TESTS_DIR/imapd/scen.py" check_uids "$IMAP_PORT" 83
  [ "$status" -eq 0 ]
}
