import ArgumentParser
import FastJSON
import Foundation
import Ingest
import Store

extension Format: ExpressibleByArgument {}

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Read seed data in its published formats into the store.",
        discussion: """
        Each file is one transaction: a malformed record stops the file with FILE:LINE (or byte offset) \
        and leaves the store as it was, unless --skip-bad. Content whose sha256 is already in the store \
        is skipped. Folders are walked for .jsonl/.json/.tsv/.tfrecord files; .gz .bz2 .xz .zst files and \
        .tar/.tar.gz/.zip archives are read as streams. http(s) URLs are downloaded (resumably) first.
        """)

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "Files, folders or http(s) URLs.")
    var inputs: [String]

    @Option(help: "Input format (auto decides from the name and the first bytes).")
    var format: Format = .auto

    @Option(help: "Put every record in this subset (default: by format: alpaca, original_p3, original_flan, self_instruct_seed).")
    var subset: String?

    @Flag(help: "Skip, count and list malformed records instead of stopping at the first one.")
    var skipBad = false

    @Option(help: "The sha256 the (single) input must have.")
    var sha256: String?

    @Flag(help: "Print the reports as JSON.")
    var json = false

    func validate() throws {
        if let sha256, sha256.count != 64 || !sha256.allSatisfy(\.isHexDigit) {
            throw ValidationError("--sha256 expects 64 hexadecimal digits")
        }
        if sha256 != nil, inputs.count != 1 { throw ValidationError("--sha256 applies to a single input") }
        if let subset, subset.isEmpty || subset.contains(where: { $0.isWhitespace }) {
            throw ValidationError("--subset expects a name without spaces")
        }
    }

    func run() throws {
        let reports = try reportingErrors { () -> [SourceReport] in
            let path = Store.resolvePath(explicit: storeOptions.store)
            let store = try Store.open(path)
            defer { store.checkpoint() }
            var options = IngestOptions(downloadDirectory: ((path as NSString).deletingLastPathComponent as NSString)
                .appendingPathComponent("cache/downloads"))
            options.format = format
            options.subset = subset
            options.skipBad = skipBad
            options.expectedSHA256 = sha256
            return try Ingester(store: store, options: options).ingest(inputs)
        }
        if json {
            printJSON(JSONWriter.string(.array(reports.map(\.jsonValue))))
            return
        }
        for r in reports {
            if r.alreadyIngested {
                print("\(r.uri): already in the store (sha256 \(r.sha256.prefix(12))…), nothing to do")
                continue
            }
            let subsets = r.subsets.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            print("\(r.uri): \(r.records) records (\(r.format)) → \(subsets.isEmpty ? "none" : subsets); "
                  + "\(r.duplicates) exact duplicates, \(r.skipped) skipped, \(r.filtered) filtered; sha256 \(r.sha256.prefix(12))…")
            if !r.badRecords.isEmpty {
                print("  skipped records (first \(r.badRecords.count) of \(r.skipped)):")
                for b in r.badRecords { print("    \(b)") }
            }
        }
    }
}

extension SourceReport {
    var jsonValue: JSONValue {
        .object([
            ("uri", .string(uri)), ("sha256", .string(sha256)), ("bytes", .number(String(bytes))),
            ("format", .string(format)), ("already_ingested", .bool(alreadyIngested)),
            ("records", .number(String(records))), ("duplicates", .number(String(duplicates))),
            ("skipped", .number(String(skipped))), ("filtered", .number(String(filtered))),
            ("subsets", .object(subsets.sorted { $0.key < $1.key }.map { ($0.key, .number(String($0.value))) })),
            ("bad_records", .array(badRecords.map { .string($0) })),
        ])
    }
}
