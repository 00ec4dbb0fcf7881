import FastJSON
import Store

/// What "pages" means in LaMini-LM's "more than 50 pages".
public enum PageCount: String, CaseIterable, Sendable {
    /// Articles: `cat_pages − cat_subcats − cat_files`, the "N pages are in this category" that a
    /// category page shows its readers. The default: the paper counts pages about a topic.
    case articles
    /// `cat_pages` as dumped: every member, subcategories and files included.
    case members
}

/// A whole-title glob: `*` matches any run of characters (possibly empty), everything else
/// matches itself, case-sensitively (titles are as Wikipedia spells them, with spaces).
public struct TitlePattern: Equatable, Sendable, CustomStringConvertible {
    public let text: String
    private let parts: [[UInt8]]   // the literal pieces between stars

    public init(_ text: String) {
        self.text = text
        parts = text.split(separator: "*", omittingEmptySubsequences: false).map { Array($0.utf8) }
    }

    public var description: String { text }

    public static func == (a: TitlePattern, b: TitlePattern) -> Bool { a.text == b.text }

    public func matches(_ title: UnsafeBufferPointer<UInt8>) -> Bool {
        if parts.count == 1 { return title.elementsEqual(parts[0]) }
        let first = parts[0], last = parts[parts.count - 1]
        guard title.count >= first.count + last.count, title.starts(with: first),
              title[(title.count - last.count)...].elementsEqual(last) else { return false }
        // Middle pieces, leftmost first, between the prefix and the suffix.
        var pos = first.count
        let end = title.count - last.count
        for piece in parts[1..<(parts.count - 1)] where !piece.isEmpty {
            var found = false
            while pos + piece.count <= end {
                if title[pos..<(pos + piece.count)].elementsEqual(piece) { found = true; pos += piece.count; break }
                pos += 1
            }
            if !found { return false }
        }
        return true
    }

    public func matches(_ title: String) -> Bool {
        var t = title
        return t.withUTF8 { matches($0) }
    }

    /// Maintenance categories that are not always marked hidden (or when no page/page_props dumps
    /// are at hand). Narrow on purpose: every pattern here names Wikipedia's own housekeeping, not
    /// a subject (`User *` or `Draft *` would take `User interfaces` and `Draft horses` with them).
    /// `Articles *` is the one broad prefix kept (every maintenance `Articles with/needing/lacking …`);
    /// it would also match `Articles of Confederation`, which the 3-word rule drops first anyway.
    public static let defaults: [TitlePattern] = [
        "Wikipedia *", "Wikipedians *", "* Wikipedians", "Wikipedian *", "WikiProject *", "Wikidata *",
        "Articles *", "* articles", "All articles *", "All pages *", "Pages *",
        "* stubs", "Stubs *", "* redirects", "Redirects *",
        "AfD *", "CS1 *", "CS1", "Use * dates", "Use * English",
        "Candidates for *", "Hidden categories", "Tracking categories", "Container categories", "Stub categories",
        "Templates *", "* templates", "Userboxes *", "Disambiguation *", "Set index *",
        "Noindexed *", "Orphaned *", "Non-free *", "All non-free *", "Webarchive *", "Infobox *",
    ].map(TitlePattern.init)
}

/// LaMini-LM's topic rule, every threshold adjustable: a category is a topic when its title has
/// fewer than 3 words, it has more than 10 subcategories and more than 50 pages, it is not
/// hidden and no maintenance pattern matches its title.
public struct TopicRules: Equatable, Sendable {
    public var fewerWordsThan = 3
    public var moreSubcatsThan: Int64 = 10
    public var morePagesThan: Int64 = 50
    public var pageCount = PageCount.articles
    public var patterns = TitlePattern.defaults

    public init() {}

    /// Words are the runs of non-space characters of the title with spaces
    /// (`Thirty Years' War` has 3, `African-American history` 2).
    public static func wordCount(_ title: UnsafeBufferPointer<UInt8>) -> Int {
        var words = 0
        var inWord = false
        for c in title {
            if c == 0x20 { inWord = false } else if !inWord { inWord = true; words += 1 }
        }
        return words
    }

    /// The first rule that drops the category (words, subcats, pages, hidden, pattern), nil for a topic.
    public func firstReason(title: UnsafeBufferPointer<UInt8>, pages: Int64, subcats: Int64, files: Int64,
                            hidden: Bool) -> (CategoryDropReason, TitlePattern?)? {
        if Self.wordCount(title) >= fewerWordsThan { return (.words, nil) }
        if subcats <= moreSubcatsThan { return (.subcats, nil) }
        let counted = pageCount == .articles ? pages - subcats - files : pages
        if counted <= morePagesThan { return (.pages, nil) }
        if hidden { return (.hidden, nil) }
        for p in patterns where p.matches(title) { return (.pattern, p) }
        return nil
    }

    /// The rules as a JSON object, stored with the mining.
    public var json: String {
        JSONWriter.string(.object([
            ("fewer_words_than", .number(String(fewerWordsThan))),
            ("more_subcats_than", .number(String(moreSubcatsThan))),
            ("more_pages_than", .number(String(morePagesThan))),
            ("pages", .string(pageCount.rawValue)),
            ("patterns", .array(patterns.map { .string($0.text) })),
        ]))
    }
}
