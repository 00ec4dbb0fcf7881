import ByteStreams
import Foundation

/// Opens a MediaWiki table dump (plain, or compressed/archived through libarchive) for one pass.
enum DumpFile {
    /// Streams every row of `table` in the dump at `path` through `body`; returns the reader
    /// (columns, counts). Throws when the dump holds no row of the table.
    @discardableResult
    static func forEachRow(_ path: String, table: String, columnCounts: Set<Int>,
                           skipBad: ((InputError) throws -> Void)?,
                           _ body: (MySQLDumpReader, SQLRow) throws -> Void) throws -> MySQLDumpReader {
        let input = try InputFile(path: path)
        return try withExtendedLifetime(input) {
            guard let member = try input.nextMember() else {
                throw InputError(path: path, message: "the archive holds no file; expected the `\(table)` table dump")
            }
            let shownPath = member.member.map { "\(path):\($0)" } ?? path
            let reader = MySQLDumpReader(source: member.source, path: shownPath, table: table)
            try reader.forEachRow(columnCounts: columnCounts, skipBad: skipBad) { try body(reader, $0) }
            if reader.rowsRead == 0 && reader.statements == 0 { throw noRows(reader, path: shownPath) }
            return reader
        }
    }

    /// The message for a dump without a single row of the expected table.
    static func noRows(_ reader: MySQLDumpReader, path: String) -> InputError {
        if let other = reader.tablesSeen.first(where: { $0 != reader.table }) {
            return InputError(path: path, message: "this is a dump of the `\(other)` table, expected `\(reader.table)` "
                              + "(no INSERT INTO `\(reader.table)` statements)")
        }
        return InputError(path: path, message: "no INSERT INTO `\(reader.table)` statements: expected a mysqldump of "
                          + "the MediaWiki `\(reader.table)` table (enwiki-YYYYMMDD-\(reader.table).sql.gz)")
    }

    /// Positions of the columns `names`: from the dump's CREATE TABLE, else `defaults` (the
    /// known layout of dumps without one).
    static func columns(_ names: [String], defaults: [Int], in reader: MySQLDumpReader) throws -> [Int] {
        guard let columns = reader.columns else { return defaults }
        return try names.map { name in
            guard let i = columns.firstIndex(of: name) else {
                throw TopicsError(path: reader.path, message: "the `\(reader.table)` table has no column `\(name)` "
                                  + "(columns: \(columns.joined(separator: ", ")))")
            }
            return i
        }
    }
}

/// Column positions in a `category` dump: from its CREATE TABLE, or the two layouts MediaWiki
/// has dumped (`cat_id, cat_title, cat_pages, cat_subcats, cat_files`, and 2011–2013's extra `cat_hidden`).
struct CategoryColumns {
    var id, title, pages, subcats, files: Int
    var hidden: Int?

    init(reader: MySQLDumpReader, rowWidth: Int) throws {
        let c = try DumpFile.columns(["cat_id", "cat_title", "cat_pages", "cat_subcats", "cat_files"],
                                     defaults: [0, 1, 2, 3, 4], in: reader)
        (id, title, pages, subcats, files) = (c[0], c[1], c[2], c[3], c[4])
        hidden = reader.columns.map { $0.firstIndex(of: "cat_hidden") } ?? (rowWidth == 6 ? 5 : nil)
    }
}

/// Reads the hidden categories out of the `page_props` and `page` dumps: a category is hidden
/// when its category page (`page_namespace = 14`, `page_title = cat_title`) has a `page_props`
/// row `pp_propname = 'hiddencat'`. Memory holds only the hidden ones (tens of thousands on enwiki).
public enum HiddenCategories {
    /// Titles (as dumped, with underscores) of the hidden categories.
    public static func read(pageDump: String, pagePropsDump: String, skipBad: ((String, InputError) throws -> Void)?)
        throws -> Set<[UInt8]> {
        // page_props: pp_page, pp_propname, pp_value, pp_sortkey.
        var hiddenPages = Set<Int64>()
        do {
            var columns: [Int]?  // pp_page, pp_propname: known once CREATE TABLE has been read
            let hiddencat = Array("hiddencat".utf8)
            try DumpFile.forEachRow(pagePropsDump, table: "page_props", columnCounts: [3, 4],
                                    skipBad: skipBad.map { f in { try f("page_props", $0) } }) { reader, row in
                if columns == nil { columns = try DumpFile.columns(["pp_page", "pp_propname"], defaults: [0, 1], in: reader) }
                let pageColumn = columns![0], nameColumn = columns![1]
                let name = row[nameColumn]
                guard name.kind == .string, name.bytes.elementsEqual(hiddencat) else { return }
                let page = row[pageColumn]
                guard page.kind == .integer else {
                    throw SQLRowError(byteOffset: page.byteOffset, message: "pp_page must be an integer, found \(page.shown)")
                }
                hiddenPages.insert(page.integer)
            }
        }
        // page: page_id, page_namespace, page_title, … (the first three in every MediaWiki layout).
        var titles = Set<[UInt8]>()
        var columns: [Int]?  // page_id, page_namespace, page_title
        try DumpFile.forEachRow(pageDump, table: "page", columnCounts: Set(3...16),
                                skipBad: skipBad.map { f in { try f("page", $0) } }) { reader, row in
            if columns == nil {
                columns = try DumpFile.columns(["page_id", "page_namespace", "page_title"], defaults: [0, 1, 2], in: reader)
            }
            let ns = row[columns![1]], id = row[columns![0]], title = row[columns![2]]
            guard ns.kind == .integer, id.kind == .integer, title.kind == .string else {
                throw SQLRowError(byteOffset: row.byteOffset,
                                  message: "expected page_id and page_namespace integers and a page_title string, found \(id.shown), \(ns.shown), \(title.shown)")
            }
            if ns.integer == 14, hiddenPages.contains(id.integer) { titles.insert(Array(title.bytes)) }
        }
        return titles
    }
}

/// A dump that cannot be read at all (wrong table, missing columns): never skipped under --skip-bad.
public struct TopicsError: Error, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
    public init(path: String, message: String) { self.path = path; self.message = message }
}
