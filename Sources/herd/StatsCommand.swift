import ArgumentParser
import FastJSON
import Foundation
import Stats
import Store

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Print LaMini-LM's Table 1 for the store (counts, unique instructions, words, MATTR) and the teacher spend.")

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Print JSON (schemas/stats.schema.json) instead of a table.")
    var json = false

    @Flag(help: "Print the store's content digest instead: a sha256 per table and one over all (attempt counts and batch file names left out).")
    var digest = false

    func run() throws {
        let store = try reportingErrors { try Store.open(Store.resolvePath(explicit: storeOptions.store)) }
        if digest {
            let d = try reportingErrors { try store.contentDigest() }
            if json {
                printJSON(JSONWriter.string(.object([("sha256", .string(d.sha256)), ("tables", .array(d.tables.map {
                    .object([("table", .string($0.table)), ("rows", .number(String($0.rows))), ("sha256", .string($0.sha256))])
                }))])))
            } else {
                for t in d.tables { print("\(t.sha256)  \(t.table) (\(t.rows) rows)") }
                print("\(d.sha256)  store")
            }
            return
        }
        let (stats, ledger) = try reportingErrors { (try StatsCalculator.compute(store: store), try store.teacherLedger()) }
        if json {
            // The Table 1 object, with the teacher ledger added.
            var text = stats.json().trimmingCharacters(in: .whitespacesAndNewlines)
            if text.hasSuffix("}") {
                text.removeLast()
                text += ",\"teacher_ledger\":" + JSONWriter.string(ledgerJSON(ledger)) + "}"
            }
            printJSON(text)
        } else {
            print(stats.table(), terminator: "")
            if !ledger.isEmpty { print(ledgerTable(ledger), terminator: "") }
        }
    }
}
