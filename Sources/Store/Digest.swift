import CSQLite
import Checksums
import Foundation

extension Store {
    /// Columns left out of the digest: bookkeeping of how the work went, not what it produced
    /// (a request re-sent after a kill has one more attempt; a batch file may be written again).
    public static let digestExcludedColumns: Set<String> = ["teacher_requests.attempts", "teacher_requests.batch_file"]

    /// A checksum of the store's contents: every table in name order, every row in the order of
    /// all its columns, every value with its type, except `digestExcludedColumns`. Two stores built
    /// from the same inputs by the same commands have the same digest, however often runs were
    /// killed and resumed on the way.
    public func contentDigest() throws -> (sha256: String, tables: [(table: String, rows: Int64, sha256: String)]) {
        var out: [(String, Int64, String)] = []
        let tables = try db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        var names: [String] = []
        while try tables.step() { names.append(tables.text(0) ?? "") }
        for table in names {
            let info = try db.prepare("SELECT name FROM pragma_table_info(?) ORDER BY cid")
            try info.bind([.text(table)])
            var columns: [String] = []
            while try info.step() {
                let c = info.text(0) ?? ""
                if !Self.digestExcludedColumns.contains("\(table).\(c)") { columns.append(c) }
            }
            let list = columns.map { "\"\($0)\"" }.joined(separator: ", ")
            let rows = try db.prepare("SELECT \(list) FROM \"\(table)\" ORDER BY \((1...max(1, columns.count)).map(String.init).joined(separator: ", "))")
            let hasher = SHA256Hasher()
            var count: Int64 = 0
            var buffer: [UInt8] = []
            while try rows.step() {
                buffer.removeAll(keepingCapacity: true)
                for i in 0..<Int32(columns.count) {
                    switch sqlite3_column_type(rows.handle, i) {
                    case SQLITE_NULL: buffer.append(0x4E) // N
                    case SQLITE_INTEGER: buffer.append(0x49); buffer += Array(String(rows.int64(i)).utf8)
                    case SQLITE_FLOAT: buffer.append(0x46); buffer += Array(String(rows.double(i).bitPattern, radix: 16).utf8)
                    default:
                        let bytes = sqlite3_column_type(rows.handle, i) == SQLITE_BLOB
                            ? UnsafeBufferPointer(start: sqlite3_column_blob(rows.handle, i)?.assumingMemoryBound(to: UInt8.self),
                                                  count: Int(sqlite3_column_bytes(rows.handle, i)))
                            : rows.textBytes(i)
                        buffer.append(0x54); buffer += Array(String(bytes.count).utf8); buffer.append(0x3A); buffer += Array(bytes)
                    }
                    buffer.append(0x1F)
                }
                buffer.append(0x1E)
                hasher.update(buffer)
                count += 1
            }
            out.append((table, count, hasher.finalizeHex()))
        }
        return (SHA256.hex(out.map { "\($0.0) \($0.1) \($0.2)\n" }.joined()), out)
    }
}
