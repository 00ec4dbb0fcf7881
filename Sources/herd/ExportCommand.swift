import ArgumentParser
import Export
import Foundation
import Stats
import Store

extension Compression: ExpressibleByArgument {}
extension ShardFormat: ExpressibleByArgument {}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write shuffled, sharded JSONL or Parquet training data with a manifest and a dataset card.",
        discussion: """
        Writes OUT/train-00000-of-000NN.jsonl.gz (or .parquet with --format parquet: UTF-8 string \
        columns, row groups of 32,768 rows, pages compressed with --compression) (and validation-… with --val-fraction), \
        OUT/manifest.json (rows, bytes, sha256 of every file) and OUT/README.md (a Hugging Face dataset card). \
        Shards appear under their final names only when complete.
        """)

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "Output folder.")
    var out: String

    @Option(help: "Rows per shard.")
    var shardRows = 100_000

    @Option(help: "gzip, zstd or none (of the whole file for JSONL, of each page for Parquet).")
    var compression: Compression = .gzip

    @Option(help: "jsonl or parquet.")
    var format: ShardFormat = .jsonl

    @Option(help: "Fraction of rows for the validation split (0 ≤ F < 1).")
    var valFraction = 0.0

    @Option(help: "Seed of the shuffle and split.")
    var seed: UInt64 = 0

    @Option(help: "Comma-separated subsets to export (default: every corpus subset).")
    var subsets: String?

    @Flag(help: "Also export exact duplicates (by default only the first occurrence).")
    var includeDuplicates = false

    @Flag(help: "Print the manifest as JSON.")
    var json = false

    func validate() throws {
        if shardRows < 1 { throw ValidationError("--shard-rows must be at least 1") }
        if !(0..<1).contains(valFraction) { throw ValidationError("--val-fraction must be in [0, 1)") }
    }

    func run() throws {
        let manifest = try reportingErrors { () -> ExportManifest in
            let store = try Store.open(Store.resolvePath(explicit: storeOptions.store))
            var options = ExportOptions(outputDirectory: out)
            options.shardRows = shardRows
            options.compression = compression
            options.format = format
            options.valFraction = valFraction
            options.seed = seed
            options.subsets = subsets.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
            options.includeDuplicates = includeDuplicates
            options.showProgress = isatty(STDERR_FILENO) == 1
            let stats = try StatsCalculator.compute(store: store)
            return try Exporter.export(store: store, options: options, statsMarkdown: stats.markdownTable())
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            printJSON(String(decoding: try encoder.encode(manifest), as: UTF8.self))
            return
        }
        for f in manifest.files { print("\(out)/\(f.name): \(f.rows) rows, \(f.bytes) bytes, sha256 \(f.sha256.prefix(12))…") }
        print("\(out)/manifest.json, \(out)/README.md: \(manifest.totals.rows) rows in \(manifest.files.count) files")
    }
}
