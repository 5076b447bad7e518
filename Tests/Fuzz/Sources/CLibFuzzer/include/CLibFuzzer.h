#ifndef OUTPOST_CLIBFUZZER_H
#define OUTPOST_CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (in the runtime `-sanitize=fuzzer` links): parses libFuzzer's flags from
/// argv and runs `callback` on every input. The fuzz targets call it from their own `main`
/// because SwiftPM gives every executable a `main` of its own, so libFuzzer's cannot be used.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

/// libFuzzer's own mutation of `data` (`size` bytes, room for `maxSize`), for custom mutators
/// that add to it; returns the new size.
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t maxSize);

#endif
