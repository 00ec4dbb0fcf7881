import Foundation

/// How shard files are compressed.
public enum Compression: String, CaseIterable, Sendable {
    case gzip, zstd, none

    /// What follows `.jsonl` in a shard's name.
    public var fileSuffix: String {
        switch self {
        case .gzip: return ".gz"
        case .zstd: return ".zst"
        case .none: return ""
        }
    }
}

/// The shard file format.
public enum ShardFormat: String, CaseIterable, Sendable {
    /// JSON Lines, compressed as a whole file.
    case jsonl
    /// Apache Parquet: UTF-8 string columns, row groups, compressed page by page.
    case parquet
}

/// What to export and how.
public struct ExportOptions: Sendable {
    /// The folder the shards, `manifest.json` and `README.md` go to (created when missing).
    public var outputDirectory: String
    /// Rows per shard file (at least 1).
    public var shardRows: Int = 100_000
    public var compression: Compression = .gzip
    public var format: ShardFormat = .jsonl
    /// Rows per Parquet row group: about 16 MB of LaMini-sized rows, small enough to stream.
    public var parquetRowGroupRows = 32_768
    /// Share of the shuffled rows that form the `validation` split: 0 ≤ F < 1.
    public var valFraction: Double = 0
    /// Seed of the shuffle (see `DeterministicShuffle`).
    public var seed: UInt64 = 0
    /// Subsets to export; nil: every subset whose role is "corpus" (seed subsets are left out).
    public var subsets: [String]? = nil
    /// Also export rows that are exact duplicates of an earlier one.
    public var includeDuplicates = false
    /// Draw a progress line on standard error (only when it is a terminal).
    public var showProgress = false

    public init(outputDirectory: String) {
        self.outputDirectory = outputDirectory
    }
}

/// Why an export could not be made.
public enum ExportError: Error, CustomStringConvertible, Equatable {
    /// The output path exists and is not a folder.
    case outputIsNotDirectory(String)
    /// No row qualifies; the text says why.
    case nothingToExport(String)
    /// Subsets asked for that the store does not have, and the ones it has.
    case unknownSubsets(unknown: [String], known: [String])
    /// An option out of range.
    case invalidOption(String)
    /// A file operation failed.
    case io(path: String, message: String)
    /// The compressor reported an error.
    case compression(String)
    /// Rows disappeared or changed between planning the export and reading them.
    case storeChanged(String)

    public var description: String {
        switch self {
        case let .outputIsNotDirectory(path):
            return "\(path): exists and is not a folder; the export output must be a folder (it is created when missing)"
        case let .nothingToExport(why):
            return "nothing to export: \(why)"
        case let .unknownSubsets(unknown, known):
            let names = unknown.map { "'\($0)'" }.joined(separator: ", ")
            let have = known.isEmpty ? "(none; the store is empty)" : known.joined(separator: ", ")
            return "unknown subset\(unknown.count == 1 ? "" : "s") \(names); the store's subsets are: \(have)"
        case let .invalidOption(why):
            return "invalid export option: \(why)"
        case let .io(path, message):
            return "\(path): \(message)"
        case let .compression(message):
            return "compression failed: \(message)"
        case let .storeChanged(why):
            return "the store changed during the export (\(why)); run it again"
        }
    }
}
