import ArgumentParser
import FastJSON
import Foundation
import Sampling
import Store
import Topics

extension PageCount: ExpressibleByArgument {}
extension CategoryDropReason: ExpressibleByArgument {}

struct TopicsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Mine Wikipedia category topics for topic-guided generation, list and sample them.",
        subcommands: [TopicsMineCommand.self, TopicsListCommand.self, TopicsSampleCommand.self, TopicsPatternsCommand.self])
}

struct TopicsMineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mine",
        abstract: "Read a MediaWiki category dump and keep LaMini-LM's topics.",
        discussion: """
        Keeps a category when its title has fewer than 3 words, it has more than 10 subcategories and \
        more than 50 pages (articles: cat_pages − cat_subcats − cat_files, what the category page shows), \
        it is not hidden and no maintenance pattern matches its title (see `herd topics patterns`). \
        Hidden categories come from --page and --page-props (category pages with a 'hiddencat' \
        property) and from the cat_hidden column of 2011–2013 dumps. Dumps may be plain, .gz, .bz2, \
        .xz or .zst. The store's topic list is replaced in one transaction; every category is kept \
        with the first rule that dropped it.
        """)

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The category table dump (enwiki-YYYYMMDD-category.sql.gz).")
    var categoryDump: String

    @Option(help: "The page table dump (enwiki-YYYYMMDD-page.sql.gz), with --page-props.")
    var page: String?

    @Option(help: "The page_props table dump (enwiki-YYYYMMDD-page_props.sql.gz), with --page.")
    var pageProps: String?

    @Option(help: "Keep titles with fewer words than this.")
    var fewerWordsThan = 3

    @Option(help: "Keep categories with more subcategories than this.")
    var moreSubcatsThan: Int64 = 10

    @Option(help: "Keep categories with more pages than this.")
    var morePagesThan: Int64 = 50

    @Option(help: "What counts as pages: articles (cat_pages − cat_subcats − cat_files) or members (cat_pages).")
    var pages: PageCount = .articles

    @Option(name: .customLong("exclude"), help: "Also drop titles matching this pattern (* matches anything; repeatable).")
    var excludePatterns: [String] = []

    @Option(name: .customLong("no-pattern"), help: "Remove this pattern from the default list (repeatable).")
    var removedPatterns: [String] = []

    @Flag(help: "Start from no default patterns (only --exclude ones).")
    var noDefaultPatterns = false

    @Flag(help: "Skip, count and list malformed rows instead of stopping at the first one.")
    var skipBad = false

    @Flag(help: "Read and count without changing the store.")
    var dryRun = false

    @Flag(help: "Print the counts as JSON.")
    var json = false

    func validate() throws {
        if (page == nil) != (pageProps == nil) {
            throw ValidationError("--page and --page-props go together: hidden categories need both dumps")
        }
        if fewerWordsThan < 1 { throw ValidationError("--fewer-words-than must be at least 1") }
        let defaults = Set(TitlePattern.defaults.map(\.text))
        for p in removedPatterns where !defaults.contains(p) {
            throw ValidationError("--no-pattern '\(p)' is not a default pattern (see `herd topics patterns`)")
        }
        for p in excludePatterns where p.isEmpty { throw ValidationError("--exclude expects a non-empty pattern") }
    }

    func run() throws {
        var options = TopicMiningOptions(categoryDump: categoryDump, pageDump: page, pagePropsDump: pageProps)
        options.rules.fewerWordsThan = fewerWordsThan
        options.rules.moreSubcatsThan = moreSubcatsThan
        options.rules.morePagesThan = morePagesThan
        options.rules.pageCount = pages
        var patterns = noDefaultPatterns ? [] : TitlePattern.defaults.filter { !removedPatterns.contains($0.text) }
        for p in excludePatterns where !patterns.contains(TitlePattern(p)) { patterns.append(TitlePattern(p)) }
        options.rules.patterns = patterns
        options.skipBad = skipBad
        options.dryRun = dryRun
        let (mining, bad) = try reportingErrors { () -> (TopicMiningInfo, [(dump: String, byteOffset: Int64, message: String)]) in
            let store = dryRun ? nil : try Store.open(Store.resolvePath(explicit: storeOptions.store))
            defer { store?.checkpoint() }
            let m = try TopicMiner.mine(options, store: store)
            return (m, try store?.topicBadRows(limit: 20) ?? [])
        }
        if json {
            printJSON(JSONWriter.string(mining.jsonValue))
            return
        }
        let d = mining.dropped
        print("\(categoryDump): \(mining.categories) categories read → \(mining.topics) topics\(dryRun ? " (dry run, store unchanged)" : "")")
        print("  dropped: \(d[.words] ?? 0) with \(fewerWordsThan) or more words, \(d[.subcats] ?? 0) with \(moreSubcatsThan) or fewer subcategories, "
              + "\(d[.pages] ?? 0) with \(morePagesThan) or fewer \(pages == .articles ? "articles" : "members"), "
              + "\(d[.hidden] ?? 0) hidden, \(d[.pattern] ?? 0) maintenance by name")
        if page != nil || mining.hiddenKnown > 0 { print("  hidden categories known from the dumps: \(mining.hiddenKnown)") }
        if mining.badRows > 0 {
            print("  skipped \(mining.badRows) malformed rows\(bad.isEmpty ? "" : " (first \(bad.count)):")")
            for b in bad { print("    \(b.message)") }
        }
    }
}

extension TopicMiningInfo {
    var jsonValue: JSONValue {
        func num(_ v: Int64) -> JSONValue { .number(String(v)) }
        return .object([
            ("category_dump", .string(categoryURI)), ("category_sha256", .string(categorySHA256)),
            ("page_dump", pageURI.map { .string($0) } ?? .null),
            ("page_props_dump", pagePropsURI.map { .string($0) } ?? .null),
            ("rules", (try? JSONParser.parse(Array(rules.utf8))) ?? .null),
            ("categories", num(categories)), ("topics", num(topics)),
            ("dropped", .object(CategoryDropReason.allCases.map { ($0.rawValue, num(dropped[$0] ?? 0)) })),
            ("hidden_known", num(hiddenKnown)), ("bad_rows", num(badRows)),
        ])
    }
}

extension CategoryRecord {
    var jsonValue: JSONValue {
        func num(_ v: Int64) -> JSONValue { .number(String(v)) }
        var fields: [(String, JSONValue)] = [
            ("title", .string(title)), ("cat_id", num(catID)), ("pages", num(pages)), ("articles", num(articles)),
            ("subcats", num(subcats)), ("files", num(files)), ("hidden", .bool(hidden)),
        ]
        if dropped != nil || pattern != nil {
            fields.append(("dropped", dropped.map { .string($0.rawValue) } ?? .null))
            fields.append(("pattern", pattern.map { .string($0) } ?? .null))
        }
        return .object(fields)
    }
}

struct TopicsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the mined topics (or the categories one rule dropped) in dump order.")

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "At most this many.")
    var limit: Int?

    @Option(help: "List the categories dropped by this rule instead: words, subcats, pages, hidden or pattern.")
    var dropped: CategoryDropReason?

    @Flag(help: "Print a JSON array.")
    var json = false

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
    }

    func run() throws {
        let rows = try reportingErrors { () -> [CategoryRecord] in
            let store = try Store.open(Store.resolvePath(explicit: storeOptions.store))
            guard try store.latestTopicMining() != nil else {
                throw TopicsError(path: store.path, message: "no topics yet: run `herd topics mine CATEGORY_DUMP` first")
            }
            if let dropped { return try store.categories(droppedBy: dropped, limit: limit) }
            return try store.topics(limit: limit)
        }
        if json {
            printJSON(JSONWriter.string(.array(rows.map(\.jsonValue))))
            return
        }
        let width = rows.map(\.title.count).max() ?? 5
        print("title".padding(toLength: max(width, 5), withPad: " ", startingAt: 0) + "  articles  subcats  files"
              + (dropped == .pattern ? "  pattern" : ""))
        for r in rows {
            let counts: [String] = [String(r.articles).leftPadded(8), String(r.subcats).leftPadded(7), String(r.files).leftPadded(5)]
            var line: String = r.title.padding(toLength: max(width, 5), withPad: " ", startingAt: 0)
            line += "  " + counts.joined(separator: "  ")
            if dropped == .pattern, let p = r.pattern { line += "  \(p)" }
            print(line)
        }
    }
}

struct TopicsSampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Draw N distinct topics, reproducibly from the seed (as topic-guided prompts do).",
        discussion: "Draws with SplitMix64(seed): j = next() % topics, redrawn when already chosen, over the topics in dump order.")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "How many topics.")
    var count: Int

    @Option(help: "Seed of the draw.")
    var seed: UInt64 = 0

    @Flag(help: "Print a JSON array of titles.")
    var json = false

    func validate() throws {
        if count < 0 { throw ValidationError("the count must not be negative") }
    }

    func run() throws {
        let drawn = try reportingErrors { () -> [String] in
            let store = try Store.open(Store.resolvePath(explicit: storeOptions.store))
            return try TopicSample.draw(count, from: try store.topicTitles(), seed: seed, store: store.path)
        }
        if json { printJSON(JSONWriter.string(.array(drawn.map { .string($0) }))) } else { drawn.forEach { print($0) } }
    }
}

struct TopicsPatternsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patterns",
        abstract: "Print the default maintenance-category patterns (`*` matches any run of characters).")

    func run() throws {
        TitlePattern.defaults.forEach { print($0.text) }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
