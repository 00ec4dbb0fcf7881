import CSQLite
import Foundation

/// A Herd corpus store: one SQLite database in WAL mode.
public final class Store {
    public let db: Database
    public var path: String { db.path }

    /// The store path from `--store`, then `$HERD_STORE`, then `./herd.db`.
    public static func resolvePath(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let env = environment["HERD_STORE"], !env.isEmpty { return env }
        return "herd.db"
    }

    /// Creates a new store (the file must not exist) and runs every migration.
    public static func create(at path: String) throws -> Store {
        if FileManager.default.fileExists(atPath: path) {
            throw StoreError.alreadyExists(path)
        }
        return try Store(path: path, create: true)
    }

    /// Opens an existing store, migrating it to the current schema.
    public static func open(_ path: String) throws -> Store {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError.notFound(path) }
        return try Store(path: path, create: false)
    }

    private init(path: String, create: Bool) throws {
        db = try Database(path: path)
        // Larger pages suit rows of a few hundred bytes of text (fewer page splits, fewer WAL frames);
        // it only takes effect on a new database, before the first table exists.
        if create { try db.execute("PRAGMA page_size = 16384") }
        try db.execute("PRAGMA journal_mode = WAL")
        // NORMAL in WAL mode: a commit survives a process kill; only an OS crash may lose the last one.
        try db.execute("PRAGMA synchronous = NORMAL")
        try db.execute("PRAGMA cache_size = -\(Self.cacheKiB)")
        try db.execute("PRAGMA temp_store = MEMORY")
        try migrate()
    }

    static let cacheKiB = 262144 // 256 MiB

    /// Back to the default page cache after a writer that lowered it.
    public func restoreCacheSize() { try? db.execute("PRAGMA cache_size = -\(Self.cacheKiB)") }

    /// A small page cache for long streams of small transactions (a teacher run): pages written
    /// once are not read again, and keeping them would only grow the process.
    public func useSmallCache() { try? db.execute("PRAGMA cache_size = -16384") }

    /// Opens a second, read-only connection to the same store (for reader threads).
    public func readerConnection() throws -> Database {
        let d = try Database(path: path, readOnly: true)
        try d.execute("PRAGMA cache_size = -65536")
        return d
    }

    public var schemaVersion: Int { Int(((try? db.scalarInt("PRAGMA user_version")) ?? nil) ?? 0) }

    private func migrate() throws {
        let current = Int(try db.scalarInt("PRAGMA user_version") ?? 0)
        guard let latest = Migrations.all.last?.version else { return }
        if current > latest { throw StoreError.newerSchema(path, current, latest) }
        for m in Migrations.all where m.version > current {
            try db.transaction {
                try db.execute(m.sql)
                try db.execute("PRAGMA user_version = \(m.version)")
            }
        }
    }

    /// Folds the write-ahead log into the database file, so the file alone holds the store.
    public func checkpoint() {
        try? db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }
}

public enum StoreError: Error, CustomStringConvertible {
    case notFound(String)
    case alreadyExists(String)
    case newerSchema(String, Int, Int)
    /// The store's contents do not allow the operation (the message says why).
    case invalid(String)

    public var description: String {
        switch self {
        case let .notFound(p):
            return "\(p): no Herd store here (create one with `herd init DIR`, or point to it with --store or $HERD_STORE)"
        case let .alreadyExists(p): return "\(p): a store already exists here"
        case let .newerSchema(p, have, know):
            return "\(p): store schema version \(have) is newer than this herd understands (\(know)); upgrade herd"
        case let .invalid(message): return message
        }
    }
}
