#ifndef VANE_CLIBFUZZER_H
#define VANE_CLIBFUZZER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver, for a program that has its own main (Swift's @main, which SwiftPM renames
/// and links as the program's entry point). Provided by the runtime that -sanitize=fuzzer links.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
