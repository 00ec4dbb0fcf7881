import CSQLite
import Foundation

/// An SQLite error with the statement or action that failed.
public struct SQLiteError: Error, CustomStringConvertible {
    public var code: Int32
    public var message: String
    public var context: String
    public var description: String { "\(context): \(message) (SQLite code \(code))" }
}

// SQLITE_TRANSIENT is a macro that Swift cannot import: SQLite copies the bound bytes.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A thin owner of one `sqlite3*` connection. Not thread-safe: one connection per thread.
public final class Database {
    let handle: OpaquePointer
    public let path: String

    public init(path: String, readOnly: Bool = false) throws {
        var h: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let rc = sqlite3_open_v2(path, &h, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let h else {
            let message = h.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let h { sqlite3_close_v2(h) }
            throw SQLiteError(code: rc, message: message, context: "opening \(path)")
        }
        handle = h
        self.path = path
        sqlite3_busy_timeout(h, 60_000)
    }

    deinit { sqlite3_close_v2(handle) }

    public func execute(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let message = err.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(err)
            throw SQLiteError(code: rc, message: message, context: String(sql.prefix(80)))
        }
    }

    public func prepare(_ sql: String) throws -> Statement { try Statement(database: self, sql: sql) }

    /// Runs `body` inside BEGIN IMMEDIATE … COMMIT; any error rolls everything back.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs `body` in one read transaction (a consistent snapshot, and no lock traffic per row).
    /// Inside a transaction that is already open, just runs `body`.
    public func readTransaction<T>(_ body: () throws -> T) throws -> T {
        guard sqlite3_get_autocommit(handle) != 0 else { return try body() }
        try execute("BEGIN")
        defer { try? execute("COMMIT") }
        return try body()
    }

    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// First column of the first row, as Int64 (nil when there is no row or it is NULL).
    public func scalarInt(_ sql: String, _ bindings: [SQLValue] = []) throws -> Int64? {
        let s = try prepare(sql)
        try s.bind(bindings)
        guard try s.step() else { return nil }
        return s.isNull(0) ? nil : s.int64(0)
    }

    public func scalarText(_ sql: String, _ bindings: [SQLValue] = []) throws -> String? {
        let s = try prepare(sql)
        try s.bind(bindings)
        guard try s.step() else { return nil }
        return s.text(0)
    }

    func error(_ rc: Int32, _ context: String) -> SQLiteError {
        SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)), context: context)
    }
}

/// A value to bind to a statement parameter.
public enum SQLValue: Equatable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case blob([UInt8])
}

/// A prepared statement, reused across rows: bind, step, reset.
public final class Statement {
    let handle: OpaquePointer
    unowned let database: Database
    let sql: String

    init(database: Database, sql: String) throws {
        var h: OpaquePointer?
        let rc = sqlite3_prepare_v3(database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &h, nil)
        guard rc == SQLITE_OK, let h else { throw database.error(rc, "preparing \(sql.prefix(80))") }
        self.handle = h
        self.database = database
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    public func bind(_ index: Int32, _ value: SQLValue) throws {
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(handle, index)
        case let .int(v): rc = sqlite3_bind_int64(handle, index, v)
        case let .double(v): rc = sqlite3_bind_double(handle, index, v)
        case let .text(v):
            var v = v
            rc = v.withUTF8 { sqlite3_bind_text(handle, index, UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), Int32($0.count), transient) }
        case let .blob(v):
            rc = v.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), transient) }
        }
        if rc != SQLITE_OK { throw database.error(rc, "binding parameter \(index) of \(sql.prefix(60))") }
    }

    /// Binds UTF-8 text straight from bytes (no String in between); SQLite copies them.
    public func bind(_ index: Int32, utf8 bytes: UnsafeBufferPointer<UInt8>) throws {
        let p = UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self)
        let rc = sqlite3_bind_text(handle, index, p, Int32(bytes.count), transient)
        if rc != SQLITE_OK { throw database.error(rc, "binding parameter \(index) of \(sql.prefix(60))") }
    }

    public func bind(_ values: [SQLValue]) throws {
        for (i, v) in values.enumerated() { try bind(Int32(i + 1), v) }
    }

    public func bind(_ index: Int32, _ value: Int64) throws { try bind(index, .int(value)) }
    public func bind(_ index: Int32, _ value: String?) throws { try bind(index, value.map { .text($0) } ?? .null) }
    public func bind(_ index: Int32, _ value: Int64?) throws { try bind(index, value.map { .int($0) } ?? .null) }

    /// Advances to the next row: true when a row is available, false when done.
    @discardableResult
    public func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw database.error(rc, "running \(sql.prefix(80))")
    }

    /// Resets for the next execution and clears the bindings.
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds, runs to completion and resets: for INSERT/UPDATE/DELETE.
    public func run(_ values: [SQLValue]) throws {
        defer { reset() }
        try bind(values)
        while try step() {}
    }

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    public func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }

    public func text(_ column: Int32) -> String? {
        guard let p = sqlite3_column_text(handle, column) else { return nil }
        let n = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    /// The column's bytes as a blob (valid until the next step/reset).
    public func blobBytes(_ column: Int32) -> UnsafeRawBufferPointer {
        guard let p = sqlite3_column_blob(handle, column) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, column)))
    }

    /// The column's UTF-8 bytes without building a String (valid until the next step/reset).
    public func textBytes(_ column: Int32) -> UnsafeBufferPointer<UInt8> {
        guard let p = sqlite3_column_text(handle, column) else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, column)))
    }
}
