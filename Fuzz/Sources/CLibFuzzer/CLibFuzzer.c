// Declarations only: LLVMFuzzerRunDriver comes with -sanitize=fuzzer.
#include "CLibFuzzer.h"
