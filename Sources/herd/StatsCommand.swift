import ArgumentParser
import Stats
import Store

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Print LaMini-LM's Table 1 for the store: counts, unique instructions, words, MATTR.")

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Print JSON (schemas/stats.schema.json) instead of a table.")
    var json = false

    func run() throws {
        let stats = try reportingErrors {
            try StatsCalculator.compute(store: try Store.open(Store.resolvePath(explicit: storeOptions.store)))
        }
        if json { printJSON(stats.json()) } else { print(stats.table(), terminator: "") }
    }
}
