/// A member of a group conversation (from `GROUP_CREATED` and later membership frames).
public struct ConversationMember: Hashable, Sendable {
    public var userID: String
    public var username: String
    public var displayName: String
    public var role: String

    public init(userID: String, username: String = "", displayName: String = "", role: String = "member") {
        self.userID = userID
        self.username = username
        self.displayName = displayName
        self.role = role
    }
}
