import Foundation
import FuzzSupport

// libFuzzer's driver, running this target's `LLVMFuzzerTestOneInput` (see Package.swift). The
// closure, rather than `fuzz` itself, keeps the C entry point defined once.
exit(Fuzz.run { fuzz($0, $1) })
