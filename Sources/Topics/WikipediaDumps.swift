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

    /// Index of `name` in the dump's CREATE TABLE, else its position in the known layout.
    static func column(_ name: String, in reader: MySQLDumpReader, default position: Int?) throws -> Int? {
        if let columns = reader.columns {
            return columns.firstIndex(of: name)
        }
        return position
    }
}

/// Column positions in a `category` dump: from its CREATE TABLE, or the two layouts MediaWiki
/// has dumped (`cat_id, cat_title, cat_pages, cat_subcats, cat_files`, and 2011–2013's extra `cat_hidden`).
struct CategoryColumns {
    var id = 0, title = 1, pages = 2, subcats = 3, files = 4
    var hidden: Int? = nil

    init(reader: MySQLDumpReader, rowWidth: Int, path: String) throws {
        if let columns = reader.columns {
            func need(_ name: String) throws -> Int {
                guard let i = columns.firstIndex(of: name) else {
                    throw TopicsError(path: path, message: "the `category` table has no column `\(name)` (columns: \(columns.joined(separator: ", ")))")
                }
                return i
            }
            id = try need("cat_id"); title = try need("cat_title"); pages = try need("cat_pages")
            subcats = try need("cat_subcats"); files = try need("cat_files")
            hidden = columns.firstIndex(of: "cat_hidden")
        } else if rowWidth == 6 {
            hidden = 5
        }
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
            var pageColumn = 0, nameColumn = 1
            let hiddencat = Array("hiddencat".utf8)
            var resolved = false
            try DumpFile.forEachRow(pagePropsDump, table: "page_props", columnCounts: [3, 4],
                                    skipBad: skipBad.map { f in { try f("page_props", $0) } }) { reader, row in
                if !resolved {
                    pageColumn = try DumpFile.column("pp_page", in: reader, default: 0) ?? -1
                    nameColumn = try DumpFile.column("pp_propname", in: reader, default: 1) ?? -1
                    guard pageColumn >= 0, nameColumn >= 0 else {
                        throw TopicsError(path: reader.path, message: "the `page_props` table has no pp_page or pp_propname column")
                    }
                    resolved = true
                }
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
        var idColumn = 0, nsColumn = 1, titleColumn = 2
        var resolved = false
        try DumpFile.forEachRow(pageDump, table: "page", columnCounts: Set(3...16),
                                skipBad: skipBad.map { f in { try f("page", $0) } }) { reader, row in
            if !resolved {
                idColumn = try DumpFile.column("page_id", in: reader, default: 0) ?? -1
                nsColumn = try DumpFile.column("page_namespace", in: reader, default: 1) ?? -1
                titleColumn = try DumpFile.column("page_title", in: reader, default: 2) ?? -1
                guard idColumn >= 0, nsColumn >= 0, titleColumn >= 0 else {
                    throw TopicsError(path: reader.path, message: "the `page` table lacks page_id, page_namespace or page_title")
                }
                resolved = true
            }
            let ns = row[nsColumn], id = row[idColumn], title = row[titleColumn]
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
