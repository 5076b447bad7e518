import ArgumentParser

@main
struct OutpostSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outpost-sim",
        abstract: "Outpost's deterministic simulator and store demo.",
        subcommands: [StoreDemo.self],
        defaultSubcommand: StoreDemo.self
    )
}
