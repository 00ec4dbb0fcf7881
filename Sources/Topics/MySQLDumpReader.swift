import ByteStreams
import Foundation

/// One value of a dumped row. `bytes` points into the reader's buffers and is valid only inside
/// the callback that receives the row.
public struct SQLField {
    public enum Kind: UInt8 { case null, integer, decimal, string }
    public var kind: Kind
    /// Integer value (kind `integer`).
    public var integer: Int64
    /// The string's bytes with escapes decoded (kind `string`), or the number's text.
    public var bytes: UnsafeBufferPointer<UInt8>
    /// Where the value starts in the stream.
    public var byteOffset: Int64

    /// A short rendering for error messages.
    public var shown: String {
        switch kind {
        case .null: return "NULL"
        case .integer: return String(integer)
        case .decimal: return String(decoding: bytes, as: UTF8.self)
        case .string:
            let text = String(decoding: bytes.prefix(40), as: UTF8.self)
            return "'\(text)\(bytes.count > 40 ? "…" : "")'"
        }
    }
}

/// One row of an INSERT statement.
public struct SQLRow {
    public var fields: UnsafeBufferPointer<SQLField>
    /// Where the row's `(` is in the stream.
    public var byteOffset: Int64
    public var count: Int { fields.count }
    public subscript(i: Int) -> SQLField { fields[i] }
}

/// A problem with one row that a row consumer found (a wrong type, invalid UTF-8). Under
/// --skip-bad the reader counts it and goes on.
public struct SQLRowError: Error {
    public var byteOffset: Int64
    public var message: String
    public init(byteOffset: Int64, message: String) { self.byteOffset = byteOffset; self.message = message }
}

/// Streams the rows of one table out of a mysqldump file in a single pass, without holding
/// more than one statement (one line, about 1 MB in Wikimedia's dumps) in memory.
///
/// Reads what mysqldump writes: an optional `CREATE TABLE` (its column names are kept), then
/// extended inserts `INSERT INTO \`t\` VALUES (…),(…);`, one per line. Values are integers,
/// decimals, `NULL`, `'strings'` with the escapes `\\ \' \" \0 \n \r \Z` (also `\t \b`, and
/// `\x` for any other x, as MySQL reads them), `_binary '…'` and `0x…` hex literals. Strings
/// are raw bytes; consumers decide how to decode them. Other statements and comments are skipped.
public final class MySQLDumpReader {
    public let path: String
    public let table: String
    /// Column names from the dump's `CREATE TABLE`, nil when it has none.
    public private(set) var columns: [String]?
    /// Tables the dump defines, for telling a user which dump they gave.
    public private(set) var tablesSeen: [String] = []
    public private(set) var rowsRead: Int64 = 0
    public private(set) var statements: Int64 = 0
    public private(set) var bytesRead: Int64 = 0

    private let lines: LineReader
    private let insertPrefix: [UInt8]
    private var fields: UnsafeMutableBufferPointer<SQLField>
    private var scratch: UnsafeMutableBufferPointer<UInt8>

    public init(source: ByteSource, path: String, table: String) {
        self.path = path
        self.table = table
        lines = LineReader(source: source, chunkSize: 4 << 20)
        insertPrefix = Array("INSERT INTO `\(table)` VALUES ".utf8)
        fields = .allocate(capacity: 64)
        scratch = .allocate(capacity: 1 << 20)
    }

    deinit {
        fields.deallocate()
        scratch.deallocate()
    }

    /// Calls `body` for every row of the table.
    ///
    /// - Parameters:
    ///   - columnCounts: accepted numbers of columns when the dump has no `CREATE TABLE`; the
    ///     first row fixes which one the rest must have. With a `CREATE TABLE`, rows must have its count.
    ///   - skipBad: when given, a malformed row (or the rest of a line that cannot be resynchronised)
    ///     is reported to it and skipped; otherwise the first one throws an `InputError`.
    public func forEachRow(columnCounts: Set<Int>, skipBad: ((InputError) throws -> Void)? = nil,
                           _ body: (SQLRow) throws -> Void) throws {
        var expected: Int? = nil
        var inCreate = false
        var createColumns: [String] = []
        while let line = try lines.next() {
            bytesRead = line.offset + Int64(line.bytes.count)
            let b = line.bytes
            if b.starts(with: insertPrefix) {
                if inCreate { inCreate = false }
                if expected == nil, let columns { expected = columns.count }
                statements += 1
                try parseInsert(line, columnCounts: columnCounts, expected: &expected, skipBad: skipBad, body)
                continue
            }
            if inCreate {
                // `  \`name\` type …` defines a column; `) ENGINE=…` ends the table.
                var i = 0
                while i < b.count, b[i] == 0x20 { i += 1 }
                if i < b.count, b[i] == 0x60, let close = b[(i + 1)...].firstIndex(of: 0x60) {
                    createColumns.append(String(decoding: b[(i + 1)..<close], as: UTF8.self))
                } else if i < b.count, b[i] == 0x29 {
                    inCreate = false
                    columns = createColumns
                }
                continue
            }
            if b.starts(with: Self.createPrefix) {
                let rest = b[Self.createPrefix.count...]
                if let close = rest.firstIndex(of: 0x60) {
                    let name = String(decoding: rest[rest.startIndex..<close], as: UTF8.self)
                    tablesSeen.append(name)
                    if name == table { inCreate = true; createColumns = [] }
                }
            } else if b.starts(with: Self.otherInsertPrefix), let close = b[Self.otherInsertPrefix.count...].firstIndex(of: 0x60) {
                let name = String(decoding: b[Self.otherInsertPrefix.count..<close], as: UTF8.self)
                if !tablesSeen.contains(name) { tablesSeen.append(name) }
            }
        }
    }

    private static let createPrefix = Array("CREATE TABLE `".utf8)
    private static let otherInsertPrefix = Array("INSERT INTO `".utf8)

    private func parseInsert(_ line: Line, columnCounts: Set<Int>, expected: inout Int?,
                             skipBad: ((InputError) throws -> Void)?, _ body: (SQLRow) throws -> Void) throws {
        let b = line.bytes
        let base = b.baseAddress!
        let n = b.count
        if scratch.count < n {
            scratch.deallocate()
            scratch = .allocate(capacity: max(n, scratch.count * 2))
        }
        var p = insertPrefix.count
        func fail(_ at: Int, _ message: String) -> InputError {
            InputError(path: path, byteOffset: line.offset + Int64(at), message: message)
        }
        func found(_ at: Int) -> String {
            if at >= n { return "the end of the line (truncated statement?)" }
            let c = base[at]
            if c >= 0x21 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
            return String(format: "byte 0x%02X", c)
        }

        rows: while true {
            let rowStart = p
            var nfields = 0
            var scratchUsed = 0
            do {
                guard p < n, base[p] == 0x28 else { throw fail(p, "expected '(' to start a row, found \(found(p))") }
                p += 1
                fieldLoop: while true {
                    if nfields == fields.count {
                        let bigger = UnsafeMutableBufferPointer<SQLField>.allocate(capacity: fields.count * 2)
                        _ = bigger.initialize(from: fields)
                        fields.deallocate()
                        fields = bigger
                    }
                    guard p < n else { throw fail(p, "expected a value, found \(found(p))") }
                    let start = p
                    var c = base[p]
                    if c == 0x5F, n - p >= 8, memcmp(base + p, "_binary ", 8) == 0 { // _binary 'x'
                        p += 8
                        c = p < n ? base[p] : 0
                    }
                    if c == 0x27 { // 'string'
                        p += 1
                        let runStart = p
                        // Fast scan to the closing quote; fall back to decoding on the first backslash.
                        while p < n, base[p] != 0x27, base[p] != 0x5C { p += 1 }
                        if p < n, base[p] == 0x27 {
                            fields[nfields] = SQLField(kind: .string, integer: 0,
                                                       bytes: UnsafeBufferPointer(start: base + runStart, count: p - runStart),
                                                       byteOffset: line.offset + Int64(start))
                            p += 1
                        } else {
                            let out = scratch.baseAddress! + scratchUsed
                            var o = 0
                            memcpy(out, base + runStart, p - runStart)
                            o = p - runStart
                            var closed = false
                            while p < n {
                                let ch = base[p]
                                if ch == 0x27 { closed = true; p += 1; break }
                                if ch == 0x5C {
                                    guard p + 1 < n else { break }
                                    out[o] = Self.unescape(base[p + 1]); o += 1; p += 2
                                } else {
                                    out[o] = ch; o += 1; p += 1
                                }
                            }
                            guard closed else { throw fail(start, "unterminated string: no closing quote before the end of the line") }
                            fields[nfields] = SQLField(kind: .string, integer: 0, bytes: UnsafeBufferPointer(start: out, count: o),
                                                       byteOffset: line.offset + Int64(start))
                            scratchUsed += o
                        }
                    } else if c == 0x2D || (c >= 0x30 && c <= 0x39) { // number
                        var neg = false
                        if c == 0x2D { neg = true; p += 1 }
                        let digitsStart = p
                        var v: Int64 = 0
                        var overflow = false
                        while p < n, base[p] >= 0x30, base[p] <= 0x39 {
                            let (m, o1) = v.multipliedReportingOverflow(by: 10)
                            let (a, o2) = m.addingReportingOverflow(Int64(base[p] - 0x30))
                            overflow = overflow || o1 || o2
                            v = a
                            p += 1
                        }
                        if p == digitsStart, !(p < n && base[p] == 0x2E) {
                            throw fail(start, "expected digits after '-', found \(found(p))")
                        }
                        var kind = SQLField.Kind.integer
                        if p < n, base[p] == 0x78 || base[p] == 0x58, p == digitsStart + 1, base[digitsStart] == 0x30, !neg {
                            // 0x… hex literal: bytes.
                            p += 1
                            let hexStart = p
                            while p < n, Self.hexValue(base[p]) != nil { p += 1 }
                            guard (p - hexStart) % 2 == 0 else { throw fail(start, "hex literal with an odd number of digits") }
                            let out = scratch.baseAddress! + scratchUsed
                            var o = 0
                            var q = hexStart
                            while q < p {
                                out[o] = Self.hexValue(base[q])! << 4 | Self.hexValue(base[q + 1])!
                                o += 1; q += 2
                            }
                            fields[nfields] = SQLField(kind: .string, integer: 0, bytes: UnsafeBufferPointer(start: out, count: o),
                                                       byteOffset: line.offset + Int64(start))
                            scratchUsed += o
                        } else {
                            while p < n, base[p] == 0x2E || base[p] == 0x65 || base[p] == 0x45 || base[p] == 0x2B || base[p] == 0x2D
                                    || (base[p] >= 0x30 && base[p] <= 0x39) {
                                kind = .decimal
                                p += 1
                            }
                            if overflow { kind = .decimal }
                            fields[nfields] = SQLField(kind: kind, integer: neg ? 0 &- v : v,
                                                       bytes: UnsafeBufferPointer(start: base + start, count: p - start),
                                                       byteOffset: line.offset + Int64(start))
                        }
                    } else if c == 0x4E, n - p >= 4, memcmp(base + p, "NULL", 4) == 0 {
                        p += 4
                        fields[nfields] = SQLField(kind: .null, integer: 0, bytes: UnsafeBufferPointer(start: nil, count: 0),
                                                   byteOffset: line.offset + Int64(start))
                    } else {
                        throw fail(p, "expected a value (a number, a 'string' or NULL), found \(found(p))")
                    }
                    nfields += 1
                    guard p < n else { throw fail(p, "expected ',' or ')' after a value, found \(found(p))") }
                    if base[p] == 0x2C { p += 1; continue fieldLoop }
                    if base[p] == 0x29 { p += 1; break fieldLoop }
                    throw fail(p, "expected ',' or ')' after a value, found \(found(p))")
                }
                // Column count: from CREATE TABLE, else fixed by the first row among the accepted layouts.
                // The row itself parsed, so under --skip-bad the next one follows without resynchronising.
                var columnProblem: String? = nil
                if let e = expected {
                    if nfields != e { columnProblem = "row has \(nfields) columns, expected \(e)\(columnList(e))" }
                } else if !columnCounts.contains(nfields) {
                    let accepted = columnCounts.sorted().map(String.init).joined(separator: " or ")
                    columnProblem = "row has \(nfields) columns, expected \(accepted) for a `\(table)` dump"
                } else {
                    expected = nfields
                }
                if let columnProblem {
                    guard let skipBad else { throw fail(rowStart, columnProblem) }
                    try skipBad(fail(rowStart, columnProblem))
                } else {
                    rowsRead += 1
                    do {
                        try body(SQLRow(fields: UnsafeBufferPointer(start: fields.baseAddress, count: nfields),
                                        byteOffset: line.offset + Int64(rowStart)))
                    } catch let e as SQLRowError {
                        guard let skipBad else { throw InputError(path: path, byteOffset: e.byteOffset, message: e.message) }
                        try skipBad(InputError(path: path, byteOffset: e.byteOffset, message: e.message))
                    }
                }
            } catch let e as InputError {
                guard let skipBad else { throw e }
                try skipBad(e)
                // Resynchronise on the next "),(" of this statement, or give up on the rest of the line.
                guard let next = Self.find(Array("),(".utf8), in: base, from: max(p, rowStart + 1), to: n) else { return }
                p = next + 2
                continue rows
            }
            // After a row: ',' then the next row, or ';' ending the statement.
            guard p < n else {
                let e = fail(p, "expected ',' or ';' after a row, found \(found(p))")
                guard let skipBad else { throw e }
                try skipBad(e)
                return
            }
            if base[p] == 0x2C { p += 1; continue rows }
            if base[p] == 0x3B { return }
            let e = fail(p, "expected ',' or ';' after a row, found \(found(p))")
            guard let skipBad else { throw e }
            try skipBad(e)
            guard let next = Self.find(Array("),(".utf8), in: base, from: p, to: n) else { return }
            p = next + 2
        }
    }

    private func columnList(_ count: Int) -> String {
        guard let columns, columns.count == count else { return "" }
        return " (\(columns.joined(separator: ", ")))"
    }

    @inline(__always)
    static func unescape(_ c: UInt8) -> UInt8 {
        switch c {
        case 0x30: return 0x00 // \0
        case 0x6E: return 0x0A // \n
        case 0x72: return 0x0D // \r
        case 0x5A: return 0x1A // \Z
        case 0x74: return 0x09 // \t
        case 0x62: return 0x08 // \b
        default: return c      // \\ \' \" and any other \x
        }
    }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    static func find(_ needle: [UInt8], in base: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        guard to - from >= needle.count else { return nil }
        var i = from
        while i + needle.count <= to {
            if base[i] == needle[0], memcmp(base + i, needle, needle.count) == 0 { return i }
            i += 1
        }
        return nil
    }
}
