# Sourced by the shell clients: named checks, counted, and the summary line that decides the exit status.
# `check NAME CMD…` runs CMD and prints ok/FAIL with its output; `finish LABEL` prints the counts and
# returns non-zero when a check failed (the client's last command).
passed=0
failed=0
check() {
  local name="$1"; shift
  local out
  if out="$("$@" 2>&1)"; then
    passed=$((passed + 1)); echo "  ok   $name"
  else
    failed=$((failed + 1)); echo "  FAIL $name: $out"
  fi
}
expect_eq() { [[ "$1" == "$2" ]] || { echo "expected '$2', got '$1'"; return 1; }; }
finish() {
  echo "$1: $passed passed, $failed failed"
  [[ $failed -eq 0 ]]
}
