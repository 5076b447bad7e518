#ifndef OUTPOST_CSQLCIPHER_SHIM_H
#define OUTPOST_CSQLCIPHER_SHIM_H

// sqlite3_key / sqlite3_rekey are declared only when SQLITE_HAS_CODEC is defined before the
// include. A system library target cannot pass cSettings, so the shim defines it.
#define SQLITE_HAS_CODEC 1
#include <sqlcipher/sqlite3.h>

// SQLITE_TRANSIENT is a cast macro Swift cannot import.
static inline sqlite3_destructor_type outpost_sqlite_transient(void) {
    return SQLITE_TRANSIENT;
}

#endif
