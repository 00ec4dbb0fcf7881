import Foundation

/// One file of an export, as `manifest.json` lists it.
public struct ManifestFile: Codable, Equatable, Sendable {
    /// File name inside the output folder, e.g. `train-00000-of-00003.jsonl.gz`.
    public var name: String
    /// `train` or `validation`.
    public var split: String
    public var rows: Int64
    /// Size of the file as written (compressed).
    public var bytes: Int64
    /// SHA-256 of the file as written, lower-case hex.
    public var sha256: String
    /// Size of the JSONL before compression (for Parquet, the file's size: it is compressed page by page).
    public var uncompressedBytes: Int64

    public init(name: String, split: String, rows: Int64, bytes: Int64, sha256: String, uncompressedBytes: Int64) {
        self.name = name; self.split = split; self.rows = rows; self.bytes = bytes
        self.sha256 = sha256; self.uncompressedBytes = uncompressedBytes
    }
}

/// `manifest.json`: what an export holds (see `schemas/export-manifest.schema.json`).
public struct ExportManifest: Codable, Equatable, Sendable {
    public struct Totals: Codable, Equatable, Sendable {
        public var rows: Int64
        public var bytes: Int64
        public var uncompressedBytes: Int64
        /// Rows of each split (`train` and `validation`, 0 included).
        public var rowsPerSplit: [String: Int64]
        /// Rows exported from each subset that was selected (0 included).
        public var rowsPerSubset: [String: Int64]
        /// Rows of the selected subsets left out because they have no response.
        public var skippedWithoutResponse: Int64

        public init(rows: Int64, bytes: Int64, uncompressedBytes: Int64, rowsPerSplit: [String: Int64],
                    rowsPerSubset: [String: Int64], skippedWithoutResponse: Int64) {
            self.rows = rows; self.bytes = bytes; self.uncompressedBytes = uncompressedBytes
            self.rowsPerSplit = rowsPerSplit; self.rowsPerSubset = rowsPerSubset
            self.skippedWithoutResponse = skippedWithoutResponse
        }
    }

    /// `ShardFormat.rawValue`: "jsonl" or "parquet".
    public var format: String
    /// `Compression.rawValue`: "gzip", "zstd" or "none".
    public var compression: String
    public var seed: UInt64
    public var valFraction: Double
    public var shardRows: Int
    /// The keys of every line, in the order they are written.
    public var columns: [String]
    /// Train shards in order, then validation shards.
    public var files: [ManifestFile]
    public var totals: Totals

    public init(format: String, compression: String, seed: UInt64, valFraction: Double, shardRows: Int,
                columns: [String], files: [ManifestFile], totals: Totals) {
        self.format = format; self.compression = compression; self.seed = seed; self.valFraction = valFraction
        self.shardRows = shardRows; self.columns = columns; self.files = files; self.totals = totals
    }

    /// Pretty JSON with sorted keys and a final newline: the bytes of `manifest.json`.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var bytes = [UInt8](try encoder.encode(self))
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    public static func decode(_ data: Data) throws -> ExportManifest {
        try JSONDecoder().decode(ExportManifest.self, from: data)
    }
}
