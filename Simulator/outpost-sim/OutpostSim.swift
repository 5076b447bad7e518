import ArgumentParser

@main
struct OutpostSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outpost-sim",
        abstract: "Outpost's deterministic simulator of many Sovereign servers and one offline-first client.",
        discussion: """
            Every run drives the real sync core and the real SQLCipher store with virtual time. \
            The same scenario and seed always give the same trace.
            """,
        subcommands: [Run.self, Sweep.self, CheckDeterminism.self, Shrink.self, Serve.self, List.self, StoreDemo.self],
        defaultSubcommand: Run.self
    )
}
