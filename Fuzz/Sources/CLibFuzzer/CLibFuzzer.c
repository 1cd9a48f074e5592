// The declaration in include/CLibFuzzer.h is all this module provides.
#include "CLibFuzzer.h"
