import ByteStreams
import Checksums
import Foundation
import Store

/// What `herd topics mine` is asked to do.
public struct TopicMiningOptions: Sendable {
    public var categoryDump: String
    /// The page and page_props dumps that name hidden categories; both or neither.
    public var pageDump: String?
    public var pagePropsDump: String?
    public var rules = TopicRules()
    /// Skip and count malformed rows instead of stopping at the first.
    public var skipBad = false
    /// Read and classify without writing to the store.
    public var dryRun = false

    public init(categoryDump: String, pageDump: String? = nil, pagePropsDump: String? = nil) {
        self.categoryDump = categoryDump; self.pageDump = pageDump; self.pagePropsDump = pagePropsDump
    }
}

/// Turns a `category` table dump (and optionally the `page` and `page_props` dumps) into the
/// store's topic list: read → classify → write, in one pass over each dump and one transaction.
public enum TopicMiner {
    /// Mines the topics; with `store` nil (or `dryRun`) nothing is written. Returns the counts.
    @discardableResult
    public static func mine(_ options: TopicMiningOptions, store: Store?) throws -> TopicMiningInfo {
        let rules = options.rules
        // Only the hidden categories are kept in memory, whatever the size of the dumps.
        var badRows: [(dump: String, error: InputError)] = []
        let recordBad: ((String, InputError) throws -> Void)? = options.skipBad ? { badRows.append(($0, $1)) } : nil
        var hiddenTitles = Set<[UInt8]>()
        if let page = options.pageDump, let props = options.pagePropsDump {
            hiddenTitles = try HiddenCategories.read(pageDump: page, pagePropsDump: props, skipBad: recordBad)
        }

        var mining = TopicMiningInfo(
            categoryURI: options.categoryDump, categorySHA256: try SHA256.hexOfFile(atPath: options.categoryDump),
            categoryBytes: try fileSize(options.categoryDump),
            pageURI: options.pageDump, pageSHA256: try options.pageDump.map { try SHA256.hexOfFile(atPath: $0) },
            pagePropsURI: options.pagePropsDump,
            pagePropsSHA256: try options.pagePropsDump.map { try SHA256.hexOfFile(atPath: $0) },
            rules: rules.json)
        var hiddenByColumn: Int64 = 0

        let writer = options.dryRun ? nil : try store.map { try CategoryWriter(store: $0) }
        var columns: CategoryColumns?
        var title = [UInt8](repeating: 0, count: 1024)
        try DumpFile.forEachRow(options.categoryDump, table: "category", columnCounts: [5, 6],
                                skipBad: recordBad.map { f in { try f("category", $0) } }) { reader, row in
            if columns == nil { columns = try CategoryColumns(reader: reader, rowWidth: row.count) }
            let c = columns!
            let id = row[c.id], rawTitle = row[c.title], pages = row[c.pages], subcats = row[c.subcats], files = row[c.files]
            guard id.kind == .integer, rawTitle.kind == .string, pages.kind == .integer, subcats.kind == .integer,
                  files.kind == .integer else {
                throw SQLRowError(byteOffset: row.byteOffset, message: "expected cat_id, cat_title, cat_pages, cat_subcats, cat_files "
                                  + "as integer, string, integer, integer, integer; found \(id.shown), \(rawTitle.shown), "
                                  + "\(pages.shown), \(subcats.shown), \(files.shown)")
            }
            var hidden = !hiddenTitles.isEmpty && hiddenTitles.contains(Array(rawTitle.bytes))
            if let h = c.hidden, row[h].kind == .integer, row[h].integer != 0 {
                hidden = true
                hiddenByColumn += 1
            }
            // Titles are binary in the dump: decode as UTF-8 strictly, with underscores read as spaces.
            if let bad = UTF8Check.firstInvalidByte(rawTitle.bytes) {
                throw SQLRowError(byteOffset: rawTitle.byteOffset, message: String(
                    format: "cat_title is not valid UTF-8: byte %d of the title (0x%02X) does not continue a UTF-8 sequence",
                    bad + 1, rawTitle.bytes[bad]))
            }
            if title.count < rawTitle.bytes.count { title = [UInt8](repeating: 0, count: rawTitle.bytes.count * 2) }
            let n = rawTitle.bytes.count
            try title.withUnsafeMutableBufferPointer { t in
                for i in 0..<n { let b = rawTitle.bytes[i]; t[i] = b == 0x5F ? 0x20 : b }
                let spaced = UnsafeBufferPointer(rebasing: t[0..<n])
                let verdict = rules.firstReason(title: spaced, pages: pages.integer, subcats: subcats.integer,
                                                files: files.integer, hidden: hidden)
                mining.categories += 1
                if let (reason, _) = verdict { mining.dropped[reason, default: 0] += 1 } else { mining.topics += 1 }
                try writer?.add(catID: id.integer, title: spaced, pages: pages.integer, subcats: subcats.integer,
                                files: files.integer, hidden: hidden, dropped: verdict?.0, pattern: verdict?.1?.text)
            }
        }
        mining.hiddenKnown = Int64(hiddenTitles.count) + hiddenByColumn
        mining.badRows = Int64(badRows.count)
        for r in CategoryDropReason.allCases where mining.dropped[r] == nil { mining.dropped[r] = 0 }
        guard let writer else { return mining }
        for b in badRows {
            try writer.addBadRow(dump: b.dump, byteOffset: b.error.byteOffset ?? 0, message: b.error.description)
        }
        return try writer.commit(mining)
    }

    private static func fileSize(_ path: String) throws -> Int64 {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.size] as? NSNumber)?.int64Value ?? 0
    }
}

/// Strict UTF-8 validation that says where it fails (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF).
enum UTF8Check {
    /// Index of the first byte that breaks UTF-8, nil when the bytes are valid.
    static func firstInvalidByte(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            var need = 0
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            switch c {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; lo = 0xA0
            case 0xE1...0xEC, 0xEE, 0xEF: need = 2
            case 0xED: need = 2; hi = 0x9F
            case 0xF0: need = 3; lo = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; hi = 0x8F
            default: return i
            }
            guard i + need < n else { return i } // the sequence is cut short by the end
            if b[i + 1] < lo || b[i + 1] > hi { return i + 1 }
            for k in 2..<(need + 1) where b[i + k] < 0x80 || b[i + k] > 0xBF { return i + k }
            i += need + 1
        }
        return nil
    }
}
