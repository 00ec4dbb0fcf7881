import CSQLite
import Foundation

/// Why the topic miner dropped a category; the first rule that applies, in this order.
public enum CategoryDropReason: String, CaseIterable, Sendable {
    case words, subcats, pages, hidden, pattern
}

/// A row of `categories`: one category of the latest mining.
public struct CategoryRecord: Equatable, Sendable {
    public var catID: Int64
    public var title: String
    /// `cat_pages`: every member, subcategories and files included.
    public var pages: Int64
    public var subcats: Int64
    public var files: Int64
    public var hidden: Bool
    /// nil when the category is a topic.
    public var dropped: CategoryDropReason?
    /// The name pattern that dropped it (reason `pattern`).
    public var pattern: String?

    public init(catID: Int64, title: String, pages: Int64, subcats: Int64, files: Int64, hidden: Bool,
                dropped: CategoryDropReason?, pattern: String?) {
        self.catID = catID; self.title = title; self.pages = pages; self.subcats = subcats; self.files = files
        self.hidden = hidden; self.dropped = dropped; self.pattern = pattern
    }

    /// Articles: members that are neither subcategories nor files.
    public var articles: Int64 { pages - subcats - files }
}

/// A row of `topic_minings`: what one `herd topics mine` read and decided.
public struct TopicMiningInfo: Equatable, Sendable {
    public var id: Int64 = 0
    public var categoryURI: String
    public var categorySHA256: String
    public var categoryBytes: Int64
    public var pageURI: String?
    public var pageSHA256: String?
    public var pagePropsURI: String?
    public var pagePropsSHA256: String?
    /// JSON object of the rules applied.
    public var rules: String
    public var categories: Int64 = 0
    public var topics: Int64 = 0
    public var dropped: [CategoryDropReason: Int64] = [:]
    public var hiddenKnown: Int64 = 0
    public var badRows: Int64 = 0

    public init(categoryURI: String, categorySHA256: String, categoryBytes: Int64, pageURI: String? = nil,
                pageSHA256: String? = nil, pagePropsURI: String? = nil, pagePropsSHA256: String? = nil, rules: String) {
        self.categoryURI = categoryURI; self.categorySHA256 = categorySHA256; self.categoryBytes = categoryBytes
        self.pageURI = pageURI; self.pageSHA256 = pageSHA256; self.pagePropsURI = pagePropsURI
        self.pagePropsSHA256 = pagePropsSHA256; self.rules = rules
    }
}

extension Store {
    private static let categoryColumns = "cat_id, title, pages, subcats, files, hidden, dropped, pattern"

    private static func readCategory(_ s: Statement) -> CategoryRecord {
        CategoryRecord(catID: s.int64(0), title: s.text(1) ?? "", pages: s.int64(2), subcats: s.int64(3),
                       files: s.int64(4), hidden: s.int64(5) != 0,
                       dropped: s.text(6).flatMap(CategoryDropReason.init(rawValue:)), pattern: s.text(7))
    }

    /// The kept categories (topics) in dump order, the first `limit` when given.
    public func topics(limit: Int? = nil) throws -> [CategoryRecord] {
        let s = try db.prepare("""
            SELECT \(Self.categoryColumns) FROM categories INDEXED BY categories_topics
            WHERE dropped IS NULL ORDER BY id LIMIT ?
            """)
        try s.bind([.int(Int64(limit ?? -1))])
        var out: [CategoryRecord] = []
        while try s.step() { out.append(Self.readCategory(s)) }
        return out
    }

    /// Titles of every topic in dump order (what generation draws from).
    public func topicTitles() throws -> [String] {
        let s = try db.prepare("SELECT title FROM categories INDEXED BY categories_topics WHERE dropped IS NULL ORDER BY id")
        var out: [String] = []
        while try s.step() { out.append(s.text(0) ?? "") }
        return out
    }

    /// Categories of the latest mining in dump order: all of them, or those one rule dropped.
    public func categories(droppedBy reason: CategoryDropReason? = nil, limit: Int? = nil) throws -> [CategoryRecord] {
        let s = try db.prepare("""
            SELECT \(Self.categoryColumns) FROM categories \(reason == nil ? "" : "WHERE dropped = ?") ORDER BY id LIMIT ?
            """)
        if let reason {
            try s.bind([.text(reason.rawValue), .int(Int64(limit ?? -1))])
        } else {
            try s.bind([.int(Int64(limit ?? -1))])
        }
        var out: [CategoryRecord] = []
        while try s.step() { out.append(Self.readCategory(s)) }
        return out
    }

    /// The mining whose categories the store holds, nil before the first one.
    public func latestTopicMining() throws -> TopicMiningInfo? {
        let s = try db.prepare("""
            SELECT id, category_uri, category_sha256, category_bytes, page_uri, page_sha256, page_props_uri,
                   page_props_sha256, rules, categories, topics, dropped_words, dropped_subcats, dropped_pages,
                   dropped_hidden, dropped_pattern, hidden_known, bad_rows
            FROM topic_minings ORDER BY id DESC LIMIT 1
            """)
        guard try s.step() else { return nil }
        var m = TopicMiningInfo(categoryURI: s.text(1) ?? "", categorySHA256: s.text(2) ?? "", categoryBytes: s.int64(3),
                                pageURI: s.text(4), pageSHA256: s.text(5), pagePropsURI: s.text(6),
                                pagePropsSHA256: s.text(7), rules: s.text(8) ?? "{}")
        m.id = s.int64(0)
        m.categories = s.int64(9)
        m.topics = s.int64(10)
        for (i, r) in CategoryDropReason.allCases.enumerated() { m.dropped[r] = s.int64(Int32(11 + i)) }
        m.hiddenKnown = s.int64(16)
        m.badRows = s.int64(17)
        return m
    }

    /// Rows of the latest mining skipped under --skip-bad, first `limit` in order.
    public func topicBadRows(limit: Int) throws -> [(dump: String, byteOffset: Int64, message: String)] {
        let s = try db.prepare("SELECT dump, byte_offset, message FROM topic_bad_rows ORDER BY id LIMIT ?")
        try s.bind([.int(Int64(limit))])
        var out: [(String, Int64, String)] = []
        while try s.step() { out.append((s.text(0) ?? "", s.int64(1), s.text(2) ?? "")) }
        return out
    }
}

/// Replaces the store's categories with one mining, inside one transaction: the previous list
/// stays until `commit`, and a failure or kill leaves it as it was.
public final class CategoryWriter {
    private let store: Store
    private let insert: Statement
    private let insertBad: Statement
    private var finished = false
    private var nextID: Int64 = 1

    public init(store: Store) throws {
        self.store = store
        // Millions of new rows in one transaction: a smaller page cache makes SQLite spill them to
        // the WAL as it goes, so memory stays flat whatever the size of the dump.
        try store.db.execute("PRAGMA cache_size = -\(Self.cacheKiB)")
        try store.db.execute("BEGIN IMMEDIATE")
        do {
            try store.db.execute("DELETE FROM categories")
            try store.db.execute("DELETE FROM topic_bad_rows")
            insert = try store.db.prepare("""
                INSERT INTO categories (id, cat_id, title, pages, subcats, files, hidden, dropped, pattern)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            insertBad = try store.db.prepare("INSERT INTO topic_bad_rows (dump, byte_offset, message) VALUES (?, ?, ?)")
        } catch {
            try? store.db.execute("ROLLBACK")
            throw error
        }
    }

    deinit { rollback() }

    static let cacheKiB = 32768

    /// Adds the next category in dump order; `title` is UTF-8 with spaces.
    public func add(catID: Int64, title: UnsafeBufferPointer<UInt8>, pages: Int64, subcats: Int64, files: Int64,
                    hidden: Bool, dropped: CategoryDropReason?, pattern: String?) throws {
        let s = insert
        defer { s.reset() }
        try s.bind(1, nextID)
        try s.bind(2, catID)
        try s.bind(3, utf8: title)
        try s.bind(4, pages)
        try s.bind(5, subcats)
        try s.bind(6, files)
        try s.bind(7, Int64(hidden ? 1 : 0))
        try s.bind(8, dropped?.rawValue)
        try s.bind(9, pattern)
        try s.step()
        nextID += 1
    }

    /// Records a malformed row skipped under --skip-bad.
    public func addBadRow(dump: String, byteOffset: Int64, message: String) throws {
        try insertBad.run([.text(dump), .int(byteOffset), .text(message)])
    }

    /// Records the mining and commits; returns it as stored.
    @discardableResult
    public func commit(_ m: TopicMiningInfo) throws -> TopicMiningInfo {
        let s = try store.db.prepare("""
            INSERT INTO topic_minings (category_uri, category_sha256, category_bytes, page_uri, page_sha256,
                page_props_uri, page_props_sha256, rules, categories, topics, dropped_words, dropped_subcats,
                dropped_pages, dropped_hidden, dropped_pattern, hidden_known, bad_rows)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        var values: [SQLValue] = [
            .text(m.categoryURI), .text(m.categorySHA256), .int(m.categoryBytes),
            m.pageURI.map { .text($0) } ?? .null, m.pageSHA256.map { .text($0) } ?? .null,
            m.pagePropsURI.map { .text($0) } ?? .null, m.pagePropsSHA256.map { .text($0) } ?? .null,
            .text(m.rules), .int(m.categories), .int(m.topics),
        ]
        for r in CategoryDropReason.allCases { values.append(.int(m.dropped[r] ?? 0)) }
        values += [.int(m.hiddenKnown), .int(m.badRows)]
        try s.run(values)
        guard let stored = try store.latestTopicMining() else {
            throw SQLiteError(code: 0, message: "topic mining vanished inside its own transaction", context: "commit")
        }
        try store.db.execute("COMMIT")
        finished = true
        store.restoreCacheSize()
        return stored
    }

    /// Abandons the mining; the previous categories stay.
    public func rollback() {
        guard !finished else { return }
        finished = true
        try? store.db.execute("ROLLBACK")
        store.restoreCacheSize()
    }
}
