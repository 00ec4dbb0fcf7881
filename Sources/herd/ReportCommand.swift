import ArgumentParser
import FastJSON
import Foundation
import Report
import Store

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the corpus audit as a self-contained web page (OUT/index.html) and OUT/report.json.",
        discussion: """
        LaMini-LM's Table 1 (counts, words, MATTR), the teacher ledger, the newest t-SNE projection \
        (`herd project`) as a scatter coloured by subset, instruction and response length \
        histograms, the novelty filter's verdicts and best-match histogram, and topic coverage. \
        The page needs no network: CSS, script and data are inline. Sections with nothing in the \
        store yet say so. The store is only read.
        """)

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "Folder to write index.html and report.json into (created if needed).")
    var out: String

    @Option(help: "The page's title (default: \"Herd report: \" and the store's folder).")
    var title: String?

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func run() throws {
        let summary = try reportingErrors { () -> ReportSummary in
            let path = Store.resolvePath(explicit: storeOptions.store)
            let store = try Store.open(path)
            return try ReportBuilder.write(store: store, storePath: path, to: out, title: title, generator: "herd")
        }
        if json {
            printJSON(JSONWriter.string(.object([("html", .string(summary.html)), ("json", .string(summary.json)),
                                                 ("projection_points", .number(String(summary.projectionPoints))),
                                                 ("seconds", .number(String(format: "%.3f", summary.seconds)))])))
        } else {
            print(String(format: "report → %@ (data in %@; %d projected points; %.1f s)", summary.html, summary.json,
                         summary.projectionPoints, summary.seconds))
        }
    }
}
