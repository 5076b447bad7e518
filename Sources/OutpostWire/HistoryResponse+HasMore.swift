extension HistoryResponse {
    /// `has_more` (field 2). protoc-gen-swift names it `hasMore_p` because generated messages
    /// reserve the `has` prefix for presence accessors.
    public var hasMore: Bool {
        get { hasMore_p }
        set { hasMore_p = newValue }
    }
}
