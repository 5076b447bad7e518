#!/usr/bin/env bash
# Coverage-guided fuzzing of Outpost's decoders of outside input (libFuzzer, with AddressSanitizer).
#
#   Scripts/fuzz.sh TARGET SECONDS     build (incrementally) and run one target
#   Scripts/fuzz.sh all SECONDS        every target, one after the other
#   Scripts/fuzz.sh list               the targets
#
# The targets live in Tests/Fuzz, a package of their own, built into .build-fuzz. Each run
# starts from a temporary copy of Tests/Fuzz/Corpus/TARGET (libFuzzer adds what it finds to its
# first corpus directory, and the repository must stay clean), and writes crash, timeout and
# out-of-memory inputs to a temporary directory whose path it prints. The exit status is
# non-zero when any target found something or could not run.
#
# Environment:
#   OUTPOST_FUZZ_SCRATCH=DIR   build directory (default: .build-fuzz in the repository)
#   OUTPOST_FUZZ_KEEP=1        keep each run's directory (grown corpus, log) even without a finding
#   OUTPOST_FUZZ_JOBS=N        build jobs (default: the number of cores)
#   OUTPOST_FUZZ_TIMEOUT=S     seconds one input may take before it counts as a hang (default 10)
#   OUTPOST_FUZZ_ARGS="..."    extra libFuzzer flags, e.g. "-seed=1 -only_ascii=1"
set -euo pipefail

repository="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
package="$repository/Tests/Fuzz"
scratch="${OUTPOST_FUZZ_SCRATCH:-$repository/.build-fuzz}"
targets=(FuzzWireFrames FuzzJSON FuzzJSONSchema FuzzSchemaText FuzzDiscoveryDocument FuzzKeyFile FuzzScenario FuzzHTTPResponses)

usage() {
    echo "usage: $0 TARGET|all SECONDS" >&2
    echo "targets: ${targets[*]}" >&2
    exit 2
}

[[ "${1:-}" == "list" ]] && { printf '%s\n' "${targets[@]}"; exit 0; }
[[ $# -eq 2 ]] || usage
selection="$1"
seconds="$2"
[[ "$seconds" =~ ^[0-9]+$ ]] || usage
if [[ "$selection" == "all" ]]; then
    chosen=("${targets[@]}")
else
    [[ " ${targets[*]} " == *" $selection "* ]] || { echo "unknown target $selection" >&2; usage; }
    chosen=("$selection")
fi

# Sanitizer flags go to swiftc only: Swift code gets coverage instrumentation and ASan, and the
# link pulls in libFuzzer (which supplies main). The C dependencies (BoringSSL, NIO's shims) are
# left uninstrumented: they are not what is under test, and instrumenting them doubles the build.
build=(swift build -c debug --package-path "$package" --scratch-path "$scratch"
       -j "${OUTPOST_FUZZ_JOBS:-$(nproc)}" -Xswiftc -sanitize=fuzzer,address)
build_start=$SECONDS
# One product per invocation: `swift build` takes a single --product, and without one it would
# also link the root package's executables with the fuzzer runtime. The first invocation builds
# everything the targets share; the others only compile and link their own target.
for target in "${chosen[@]}"; do
    echo "== building: ${build[*]} --product $target"
    # gold warns once per ASan helper symbol on every link ("Cannot export local symbol"): noise.
    set +e
    "${build[@]}" --product "$target" 2>&1 | grep -v "Cannot export local symbol '__asan"
    build_status=${PIPESTATUS[0]}
    set -e
    [[ $build_status -eq 0 ]] || { echo "!! the build of $target failed" >&2; exit 1; }
done
bin="$("${build[@]}" --show-bin-path 2>/dev/null | tail -n 1)"
build_time=$((SECONDS - build_start))
echo "== built in $build_time s ($bin)"

summary=()
failed=0
for target in "${chosen[@]}"; do
    work="$(mktemp -d "${TMPDIR:-/tmp}/outpost-fuzz-$target.XXXXXX")"
    mkdir -p "$work/corpus" "$work/artifacts" "$work/tmp"
    if compgen -G "$package/Corpus/$target/*" >/dev/null; then
        cp "$package/Corpus/$target/"* "$work/corpus/"
    fi
    seeds=$(find "$work/corpus" -type f | wc -l)
    dictionary=()
    [[ -f "$package/Dictionaries/$target.dict" ]] && dictionary=(-dict="$package/Dictionaries/$target.dict")
    echo "== $target: ${seconds} s from $seeds seed(s); run directory $work"
    status=0
    # TMPDIR keeps the targets' scratch files inside the run directory. The Swift runtime's own
    # backtracer would race libFuzzer's crash handler (and trip ASan), so it is off.
    # shellcheck disable=SC2086
    OUTPOST_REPOSITORY="$repository" TMPDIR="$work/tmp" SWIFT_BACKTRACE=enable=no \
        "$bin/$target" "$work/corpus" \
        -max_total_time="$seconds" -print_final_stats=1 -timeout="${OUTPOST_FUZZ_TIMEOUT:-10}" \
        -artifact_prefix="$work/artifacts/" "${dictionary[@]}" ${OUTPOST_FUZZ_ARGS:-} \
        >"$work/log" 2>&1 || status=$?

    # The last status line carries coverage (cov: edges, ft: features); the final stats the speed.
    last=$(grep -E '^#[0-9]+' "$work/log" | tail -n 1 || true)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
    speed=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$work/log" | tail -n 1)
    runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$work/log" | tail -n 1)
    corpus=$(find "$work/corpus" -type f | wc -l)
    artifacts=$(find "$work/artifacts" -type f | wc -l)
    line="$target: ${speed:-?} exec/s, ${runs:-?} runs, cov ${cov:-?}, ft ${ft:-?}, corpus $seeds -> $corpus"
    if [[ $status -ne 0 || $artifacts -gt 0 ]]; then
        failed=1
        line+=", FINDING (exit $status)"
        echo "!! $target found something (exit $status). Log: $work/log"
        # The message and the top of the stack, demangled.
        grep -E 'ERROR: |SUMMARY: |Fatal error|fuzz invariant broken|Test unit written|^ +#[0-9] ' "$work/log" \
            | head -n 24 | { swift demangle --simplified 2>/dev/null || cat; } || true
        find "$work/artifacts" -type f -printf '!! artifact: %p\n'
    else
        tail -n 12 "$work/log" | grep -E '^(stat::|Done)' || true
        if [[ "${OUTPOST_FUZZ_KEEP:-0}" == "1" ]]; then
            echo "== kept $work"
        else
            rm -rf "$work"
        fi
    fi
    summary+=("$line")
done

echo "== summary: build $build_time s, build and runs $SECONDS s"
printf '   %s\n' "${summary[@]}"
exit $failed
