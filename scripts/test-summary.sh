#!/usr/bin/env bash
# Usage: scripts/test-summary.sh RESULTS_DIR [ASSEMBLY...]
#
# Summarises the TRX files that `dotnet test --logger trx --results-directory RESULTS_DIR` wrote.
# The last line is always `tests: N passed, N failed, N skipped`, counted from the TRX files.
# Before it, only when something went wrong: each failed test (fully qualified name and the first
# lines of its error message (DEDALUS_TEST_SUMMARY_LINES, default 4), at most DEDALUS_TEST_SUMMARY_MAX
# tests (default 30)), each test run that aborted (test host crash), and each expected test ASSEMBLY (name without .dll) that no TRX
# file has results for. ./test calls it; it also runs on its own against any results directory.
# Reads the TRX with xmllint (Debian package libxml2-utils, which ./test installs); without it,
# it lists failed test names only.
set -uo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 RESULTS_DIR [ASSEMBLY...]" >&2
  exit 2
fi
results=${1%/}
shift
expected=("$@")
max_listed=${DEDALUS_TEST_SUMMARY_MAX:-30}

trx_files=()
for trx in "$results"/*.trx; do
  [ -e "$trx" ] && trx_files+=("$trx")
done

have_xmllint=0
command -v xmllint >/dev/null 2>&1 && have_xmllint=1

# XPath steps that ignore the TRX default namespace.
UTR="*[local-name()='UnitTestResult']"
FAILED="[@outcome='Failed' or @outcome='Error' or @outcome='Timeout' or @outcome='Aborted']"
MESSAGE="*[local-name()='Output']/*[local-name()='ErrorInfo']/*[local-name()='Message']"
UNIT_TEST="*[local-name()='UnitTest']"
TEST_METHOD="*[local-name()='TestMethod']"
RUN_INFO_TEXT="*[local-name()='RunInfo'][@outcome='Error']/*[local-name()='Text']"
LOWER="translate(., 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
ABORTED="[contains($LOWER, 'aborted') or contains($LOWER, 'crashed') or contains($LOWER, 'exited with error')]"

count() { grep -o "<Counters [^>]*" "$1" | grep -o " $2=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }

decode_entities() {
  sed -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&quot;/"/g' -e "s/&apos;/'/g" -e 's/&#xD;//g' -e 's/&amp;/\&/g'
}

# The test assemblies a TRX file has results for: its TestMethod codeBase paths, and xUnit's
# "Discovering: NAME" lines in its output (present even when the host crashed before any result).
assemblies_of() {
  {
    grep -o 'codeBase="[^"]*"' "$1" | sed -e 's/^codeBase="//' -e 's/"$//' -e 's|.*/||' -e 's/\.dll$//'
    grep -oE 'Discovering: [^[:space:]<]+' "$1" | sed 's/^Discovering: //'
  } | sort -u
}

# Prints the first $2 non-blank lines of stdin, indented and cut to 300 characters each.
first_lines() {
  tr -d '\r' | grep -v '^[[:space:]]*$' | head -n "$1" | cut -c1-300 | sed 's/^[[:space:]]*/    /'
}

passed=0 failed=0 skipped=0
total_failed_listed=0 not_listed=0
failure_lines=() trx_with_problems=() aborted_lines=() seen_assemblies=()

for trx in "${trx_files[@]}"; do
  passed=$((passed + $(count "$trx" passed)))
  trx_failed=$(($(count "$trx" failed) + $(count "$trx" error) + $(count "$trx" timeout) + $(count "$trx" aborted)))
  failed=$((failed + trx_failed))
  # Not Counters' notExecuted: the TRX logger leaves it 0 for skipped xUnit tests.
  skipped=$((skipped + $(grep -oE '<UnitTestResult [^>]*outcome="NotExecuted"' "$trx" | wc -l)))

  names=$(assemblies_of "$trx")
  while IFS= read -r name; do
    [ -n "$name" ] && seen_assemblies+=("$name")
  done <<<"$names"
  label=$(printf '%s' "$names" | paste -sd, - | sed 's/,/, /g')
  [ -n "$label" ] || label="no test assembly named in it"

  problem=0
  if [ "$have_xmllint" -eq 1 ]; then
    # A run that aborted (for instance its test host crashed) says so in an error RunInfo.
    n_aborted=$(xmllint --xpath "count(//$RUN_INFO_TEXT$ABORTED)" "$trx" 2>/dev/null || echo 0)
    for ((i = 1; i <= n_aborted; i++)); do
      problem=1
      aborted_lines+=("ABORTED test run of ${label}:")
      while IFS= read -r line; do
        aborted_lines+=("$line")
      done < <(xmllint --xpath "string((//$RUN_INFO_TEXT$ABORTED)[$i])" "$trx" 2>/dev/null | first_lines 2)
    done

    n_failed=$(xmllint --xpath "count(//$UTR$FAILED)" "$trx" 2>/dev/null || echo 0)
    for ((i = 1; i <= n_failed; i++)); do
      problem=1
      if [ "$total_failed_listed" -ge "$max_listed" ]; then
        not_listed=$((not_listed + n_failed - i + 1))
        break
      fi
      r="(//$UTR$FAILED)[$i]"
      # One xmllint call: the test name, its class, then the (multi-line) message, newline-separated.
      details=$(xmllint --xpath "concat($r/@testName, '
', //${UNIT_TEST}[@id=$r/@testId]/${TEST_METHOD}/@className, '
', $r/$MESSAGE)" "$trx" 2>/dev/null)
      test_name=$(sed -n 1p <<<"$details")
      class_name=$(sed -n 2p <<<"$details")
      # xUnit's testName is already fully qualified (and carries theory arguments); others may not be.
      if [ -n "$class_name" ] && [[ $test_name != "$class_name".* ]]; then
        test_name="$class_name.$test_name"
      fi
      failure_lines+=("FAILED $test_name")
      while IFS= read -r line; do
        failure_lines+=("$line")
      done < <(sed 1,2d <<<"$details" | first_lines "${DEDALUS_TEST_SUMMARY_LINES:-4}")
      total_failed_listed=$((total_failed_listed + 1))
    done
  else
    # Without xmllint: aborted runs and failed test names only, from the raw XML.
    if grep -qiE 'test run was aborted|test host process crashed' "$trx"; then
      problem=1
      aborted_lines+=("ABORTED test run of ${label} (the reason is in its TRX file)")
    fi
    while IFS= read -r test_name; do
      [ -n "$test_name" ] || continue
      problem=1
      if [ "$total_failed_listed" -ge "$max_listed" ]; then
        not_listed=$((not_listed + 1))
        continue
      fi
      failure_lines+=("FAILED $test_name")
      total_failed_listed=$((total_failed_listed + 1))
    done < <(grep -oE '<UnitTestResult [^>]*outcome="(Failed|Error|Timeout|Aborted)"' "$trx" |
      grep -o ' testName="[^"]*"' | sed -e 's/^ testName="//' -e 's/"$//' | decode_entities)
  fi
  if [ "$problem" -eq 1 ] || [ "$trx_failed" -gt 0 ]; then
    trx_with_problems+=("$trx ($label)")
  fi
done

missing=()
for name in "${expected[@]}"; do
  found=0
  for seen in "${seen_assemblies[@]}"; do
    [ "$seen" = "$name" ] && found=1 && break
  done
  [ "$found" -eq 1 ] || missing+=("$name")
done

if [ ${#trx_with_problems[@]} -gt 0 ] || [ ${#missing[@]} -gt 0 ] || [ ${#trx_files[@]} -eq 0 ]; then
  echo
  if [ ${#trx_files[@]} -eq 0 ]; then
    echo "==> no TRX files in $results/"
  else
    echo "==> test problems; messages, stack traces and output are in the TRX files in $results/:"
    for line in "${trx_with_problems[@]}"; do
      echo "    $line"
    done
  fi
  if [ "$have_xmllint" -eq 0 ] && [ ${#trx_files[@]} -gt 0 ]; then
    echo "(xmllint not found: install libxml2-utils to see error messages here)"
  fi
  for name in "${missing[@]}"; do
    echo "NO RESULTS from $name: no TRX file has its tests (did its test host crash or fail to start, or the run abort before it?)"
  done
  for line in "${aborted_lines[@]}"; do
    echo "$line"
  done
  for line in "${failure_lines[@]}"; do
    echo "$line"
  done
  if [ "$not_listed" -gt 0 ]; then
    echo "... and $not_listed more failed tests"
  fi
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
