import NIOConcurrencyHelpers

/// A notification any thread can fire, handled by whoever installed a handler (or by no one).
final class Signal: Sendable {
    private let handler = NIOLockedValueBox<(@Sendable () -> Void)?>(nil)

    /// Replaces the handler.
    func handle(_ body: @escaping @Sendable () -> Void) {
        handler.withLockedValue { $0 = body }
    }

    @Sendable func fire() {
        handler.withLockedValue { $0 }?()
    }
}
