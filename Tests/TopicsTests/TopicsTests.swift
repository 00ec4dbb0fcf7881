import ByteStreams
import Foundation
import Store
import Topics
import XCTest

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("fixtures/wikipedia").path

final class MySQLDumpReaderTests: XCTestCase {
    struct Parsed: Equatable {
        var rows: [[String]] = []
        var errors: [String] = []
    }

    /// Parses `text` as a dump of table `t` and renders every value: I:int D:decimal S:bytes-as-hex-or-text N.
    func parse(_ text: String, counts: Set<Int> = [1, 2, 3], skipBad: Bool = false) throws -> Parsed {
        var out = Parsed()
        let reader = MySQLDumpReader(source: MemoryByteSource(Array(text.utf8)), path: "t.sql", table: "t")
        try reader.forEachRow(columnCounts: counts, skipBad: skipBad ? { out.errors.append($0.description) } : nil) { row in
            out.rows.append((0..<row.count).map { i -> String in
                let f = row[i]
                switch f.kind {
                case .null: return "N"
                case .integer: return "I\(f.integer)"
                case .decimal: return "D" + String(decoding: f.bytes, as: UTF8.self)
                case .string: return "S" + String(decoding: f.bytes, as: UTF8.self)
                }
            })
        }
        return out
    }

    func testValuesAndEscapes() throws {
        let text = #"INSERT INTO `t` VALUES (1,'a\'b',NULL),(-7,'x\\y\"z',2.5e-3),(0,'\0\n\r\Z\t\b\q',_binary 'bin'),(3,0x4142,'');"# + "\n"
        let p = try parse(text)
        XCTAssertEqual(p.rows, [
            ["I1", "Sa'b", "N"],
            ["I-7", "Sx\\y\"z", "D2.5e-3"],
            ["I0", "S\u{0}\n\r\u{1A}\t\u{8}q", "Sbin"],
            ["I3", "SAB", "S"],
        ])
    }

    func testOtherTablesAndStatementsAreSkipped() throws {
        let text = """
        -- comment
        CREATE TABLE `t` (
          `a` int(11) NOT NULL,
          `b` varbinary(255) NOT NULL,
          PRIMARY KEY (`a`)
        ) ENGINE=InnoDB;
        INSERT INTO `u` VALUES (9,'no');
        INSERT INTO `t` VALUES (1,'yes');
        /*!40000 ALTER TABLE `t` ENABLE KEYS */;

        """
        let reader = MySQLDumpReader(source: MemoryByteSource(Array(text.utf8)), path: "t.sql", table: "t")
        var rows = 0
        try reader.forEachRow(columnCounts: [2]) { _ in rows += 1 }
        XCTAssertEqual(rows, 1)
        XCTAssertEqual(reader.columns, ["a", "b"])
        XCTAssertEqual(reader.tablesSeen, ["t", "u"])
    }

    func testUTF8AndHugeIntegersAreKeptAsBytes() throws {
        let p = try parse("INSERT INTO `t` VALUES ('Café_ß',99999999999999999999);\n", counts: [2])
        XCTAssertEqual(p.rows, [["SCafé_ß", "D99999999999999999999"]])
    }

    /// Each malformed statement stops with the byte offset of the problem and what was expected.
    func testErrorsNameTheByteOffset() {
        let prefix = "INSERT INTO `t` VALUES "
        let cases: [(String, String)] = [
            (prefix + "(1,'ab'),(2,'c", "t.sql: byte offset 35: unterminated string: no closing quote before the end of the line"),
            (prefix + "(1,'ab'),(2,", "t.sql: byte offset 35: expected a value, found the end of the line (truncated statement?)"),
            (prefix + "(1,'ab')", "t.sql: byte offset 31: expected ',' or ';' after a row, found the end of the line (truncated statement?)"),
            (prefix + "(1,'ab'),(2,'c',3,4);", "t.sql: byte offset 32: row has 4 columns, expected 2"),
            (prefix + "(1,'ab')x", "t.sql: byte offset 31: expected ',' or ';' after a row, found 'x'"),
            (prefix + "(1,ab);", "t.sql: byte offset 26: expected a value (a number, a 'string' or NULL), found 'a'"),
            (prefix + "(1 ,'a');", "t.sql: byte offset 25: expected ',' or ')' after a value, found byte 0x20"),
            (prefix + "1,'a');", "t.sql: byte offset 23: expected '(' to start a row, found '1'"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try parse(text + "\n", counts: [2]), text) { e in
                XCTAssertEqual((e as? InputError)?.description, message, text)
            }
        }
    }

    func testColumnCountIsFixedByTheFirstRow() {
        XCTAssertThrowsError(try parse("INSERT INTO `t` VALUES (1,2),(1,2,3);\n", counts: [2, 3])) { e in
            XCTAssertEqual((e as? InputError)?.description, "t.sql: byte offset 29: row has 3 columns, expected 2")
        }
        XCTAssertThrowsError(try parse("INSERT INTO `t` VALUES (1,2,3,4);\n", counts: [2, 3])) { e in
            XCTAssertEqual((e as? InputError)?.description, "t.sql: byte offset 23: row has 4 columns, expected 2 or 3 for a `t` dump")
        }
    }

    func testSkipBadResynchronisesOnTheNextRow() throws {
        let text = """
        INSERT INTO `t` VALUES (1,'a'),(2,'b',9),(3,'c'),(4,x),(5,'e');
        INSERT INTO `t` VALUES (6,'f'),(7,'unterminated);
        INSERT INTO `t` VALUES (8,'h')
        INSERT INTO `t` VALUES (9,'i');

        """
        let p = try parse(text, counts: [2], skipBad: true)
        XCTAssertEqual(p.rows.map { $0[0] }, ["I1", "I3", "I5", "I6", "I8", "I9"])
        XCTAssertEqual(p.errors, [
            "t.sql: byte offset 31: row has 3 columns, expected 2",
            "t.sql: byte offset 52: expected a value (a number, a 'string' or NULL), found 'x'",
            "t.sql: byte offset 98: unterminated string: no closing quote before the end of the line",
            "t.sql: byte offset 144: expected ',' or ';' after a row, found the end of the line (truncated statement?)",
        ])
    }

    /// A statement that spans read chunks and lines of several MB parse the same.
    func testLongStatement() throws {
        var text = "INSERT INTO `t` VALUES "
        let rows = 200_000
        for i in 0..<rows { text += "(\(i),'Title_\(i)_\\'q\\'')" + (i == rows - 1 ? ";\n" : ",") }
        var count = 0, sum = 0
        let reader = MySQLDumpReader(source: MemoryByteSource(Array(text.utf8)), path: "t.sql", table: "t")
        try reader.forEachRow(columnCounts: [2]) { row in
            count += 1
            sum += Int(row[0].integer)
            if row[0].integer == 123_456 { XCTAssertEqual(String(decoding: row[1].bytes, as: UTF8.self), "Title_123456_'q'") }
        }
        XCTAssertEqual(count, rows)
        XCTAssertEqual(sum, rows * (rows - 1) / 2)
    }
}

final class TopicRulesTests: XCTestCase {
    func reason(_ title: String, _ pages: Int64, _ subcats: Int64, _ files: Int64 = 0, hidden: Bool = false,
                rules: TopicRules = TopicRules()) -> String {
        var t = title
        let v = t.withUTF8 { rules.firstReason(title: $0, pages: pages, subcats: subcats, files: files, hidden: hidden) }
        guard let v else { return "topic" }
        return v.0.rawValue + (v.1.map { ":\($0.text)" } ?? "")
    }

    func testPaperRuleAndOrder() {
        XCTAssertEqual(reason("Comedy", 91, 28), "topic")
        XCTAssertEqual(reason("Thirty Years' War", 61, 11), "words")
        XCTAssertEqual(reason("Geography", 85, 33), "topic")         // 52 articles
        XCTAssertEqual(reason("Geography", 85, 33, 2), "pages")      // 50 articles: not more than 50
        XCTAssertEqual(reason("Theorists", 21, 17), "pages")        // 4 articles
        XCTAssertEqual(reason("Vietnam", 308, 10), "subcats")        // 10 is not more than 10
        XCTAssertEqual(reason("AfD debates", 609, 12), "pattern:AfD *")
        XCTAssertEqual(reason("AfD debates", 609, 12, hidden: true), "hidden")
        XCTAssertEqual(reason("Unprintworthy redirects", 1_607_621, 21), "pattern:* redirects")
        XCTAssertEqual(reason("Use dmy dates", 900_000, 30, rules: { var r = TopicRules(); r.fewerWordsThan = 4; return r }()),
                       "pattern:Use * dates")
        var members = TopicRules()
        members.pageCount = .members
        XCTAssertEqual(reason("Astronomy", 60, 15), "pages")
        XCTAssertEqual(reason("Astronomy", 60, 15, rules: members), "topic")
    }

    func testWordCount() {
        func words(_ s: String) -> Int { var s = s; return s.withUTF8 { TopicRules.wordCount($0) } }
        XCTAssertEqual(words("Comedy"), 1)
        XCTAssertEqual(words("African-American history"), 2)
        XCTAssertEqual(words("Thirty Years' War"), 3)
        XCTAssertEqual(words("Ελληνική μουσική"), 2)
        XCTAssertEqual(words(""), 0)
    }

    func testPatterns() {
        XCTAssertTrue(TitlePattern("Use * dates").matches("Use dmy dates"))
        XCTAssertFalse(TitlePattern("Use * dates").matches("Use dates"))   // the spaces are literal
        XCTAssertTrue(TitlePattern("* stubs").matches("Vietnam stubs"))
        XCTAssertFalse(TitlePattern("* stubs").matches("Vietnam stubs of rivers"))
        XCTAssertTrue(TitlePattern("CS1").matches("CS1"))
        XCTAssertFalse(TitlePattern("CS1").matches("CS1 errors"))
        XCTAssertTrue(TitlePattern("a*b*c").matches("abc"))
        XCTAssertTrue(TitlePattern("a*b*c").matches("a-b-b-c"))
        XCTAssertFalse(TitlePattern("a*bb*c").matches("abc"))
        XCTAssertTrue(TitlePattern("*").matches(""))
        // No default pattern may take a subject with it.
        for subject in ["Comedy", "Sociolinguistics", "Geography", "User interfaces", "Draft horses", "All Blacks",
                        "Grammatical categories", "Computer files", "Physics"] {
            XCTAssertNil(TitlePattern.defaults.first { $0.matches(subject) }, subject)
        }
        for maintenance in ["Unprintworthy redirects", "AfD debates", "Wikipedia maintenance", "Articles needing cleanup",
                            "Vietnam stubs", "CS1 errors", "Pages with broken links", "Use mdy dates", "Hidden categories",
                            "Filipino Wikipedians", "Wikipedian dancers"] {
            XCTAssertNotNil(TitlePattern.defaults.first { $0.matches(maintenance) }, maintenance)
        }
    }
}

final class TopicMinerTests: XCTestCase {
    var dir: String!
    var store: Store!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "herd-topics-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        store = try Store.create(at: "\(dir!)/herd.db")
    }

    override func tearDownWithError() throws {
        store = nil
        try? FileManager.default.removeItem(atPath: dir)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let path = "\(dir!)/\(name)"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func decisions() throws -> [String] {
        try store.categories().map { "\($0.title)=\($0.dropped?.rawValue ?? "topic")" }
    }

    /// The real excerpt: exactly Comedy, Sociolinguistics and Geography survive; the two
    /// maintenance categories that pass the size rules fall to their name patterns.
    func testRealExcerpt() throws {
        for name in ["enwiki-2024-category-excerpt.sql", "enwiki-2024-category-excerpt.sql.gz"] {
            let m = try TopicMiner.mine(TopicMiningOptions(categoryDump: "\(fixtures)/\(name)"), store: store)
            XCTAssertEqual(m.categories, 94)
            XCTAssertEqual(m.topics, 3)
            XCTAssertEqual(m.dropped, [.words: 68, .subcats: 16, .pages: 5, .hidden: 0, .pattern: 2])
            XCTAssertEqual(try store.topicTitles(), ["Comedy", "Sociolinguistics", "Geography"])
            let patterned = try store.categories(droppedBy: .pattern)
            XCTAssertEqual(patterned.map(\.title), ["Unprintworthy redirects", "AfD debates"])
            XCTAssertEqual(patterned.map(\.pattern), ["* redirects", "AfD *"])
            XCTAssertEqual(try store.categories(droppedBy: .pages).map(\.title),
                           ["African-American history", "Chinese Protestants", "Brasília", "1978", "Theorists"])
            let all = try store.categories()
            XCTAssertEqual(all.count, 94)
            XCTAssertEqual(all.first, CategoryRecord(catID: 2, title: "Unprintworthy redirects", pages: 1_607_621, subcats: 21,
                                                     files: 0, hidden: false, dropped: .pattern, pattern: "* redirects"))
            XCTAssertEqual(all.first { $0.catID == 42 }?.title, "Thirty Years' War")
            XCTAssertEqual(all.last?.title, "People by nationality")
        }
        let latest = try store.latestTopicMining()
        XCTAssertEqual(latest?.id, 2)
        XCTAssertEqual(latest?.categorySHA256.count, 64)
        XCTAssertEqual(latest?.categoryBytes, Int64(try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/enwiki-2024-category-excerpt.sql.gz")).count))
    }

    func testHiddenCategoriesFromPageAndPageProps() throws {
        var o = TopicMiningOptions(categoryDump: "\(fixtures)/hidden/category.sql", pageDump: "\(fixtures)/hidden/page.sql",
                                   pagePropsDump: "\(fixtures)/hidden/page_props.sql")
        let m = try TopicMiner.mine(o, store: store)
        XCTAssertEqual(try decisions(), [
            "Physics=topic", "Chemistry=topic", "Noindexed pages=hidden", "Biography maintenance=hidden",
            "Café culture=topic", "Ελληνική μουσική=topic", "Children's literature=topic", "Rock 'n' roll=words",
            "The \"Big\" Four=words", "Astronomy=pages", "Mathematics=subcats", "Coastal towns=topic",
            "Use dmy dates=words", "CS1 errors=hidden", "Film stubs=pattern", "Negative counts=pages",
        ])
        XCTAssertEqual(m.hiddenKnown, 3)
        XCTAssertEqual(try store.categories().filter(\.hidden).map(\.title), ["Noindexed pages", "Biography maintenance", "CS1 errors"])

        // Without the page dumps only the name patterns catch maintenance categories.
        o.pageDump = nil
        o.pagePropsDump = nil
        try TopicMiner.mine(o, store: store)
        XCTAssertEqual(try store.topicTitles(), ["Physics", "Chemistry", "Biography maintenance", "Café culture", "Ελληνική μουσική",
                                                 "Children's literature", "Coastal towns"])
        XCTAssertEqual(try store.categories(droppedBy: .pattern).map(\.title), ["Noindexed pages", "CS1 errors", "Film stubs"])
    }

    func testLegacySixColumnLayoutWithCatHidden() throws {
        let m = try TopicMiner.mine(TopicMiningOptions(categoryDump: "\(fixtures)/enwiki-2012-category.sql"), store: store)
        XCTAssertEqual(try decisions(), ["Physics=topic", "Biography maintenance=hidden", "Astronomy=topic", "Short title stubs=words"])
        XCTAssertEqual(m.hiddenKnown, 1)
    }

    func testThresholdFlagsAndPatternEdits() throws {
        var o = TopicMiningOptions(categoryDump: "\(fixtures)/enwiki-2024-category-excerpt.sql")
        o.rules.patterns.removeAll { $0.text == "AfD *" }
        try TopicMiner.mine(o, store: store)
        XCTAssertEqual(try store.topicTitles(), ["Comedy", "Sociolinguistics", "AfD debates", "Geography"])
        o.rules.patterns.append(TitlePattern("Geo*"))
        o.rules.morePagesThan = 60
        try TopicMiner.mine(o, store: store)
        XCTAssertEqual(try store.topicTitles(), ["Comedy", "Sociolinguistics", "AfD debates"])
        XCTAssertEqual(try store.categories().first { $0.title == "Geography" }?.dropped, .pages) // pages before pattern
        o.rules = TopicRules()
        o.rules.fewerWordsThan = 4
        o.rules.moreSubcatsThan = 0
        o.rules.morePagesThan = 0
        o.rules.pageCount = .members
        let m = try TopicMiner.mine(o, store: store)
        // Counted independently with a regex parse of the excerpt and Python's fnmatch-style globs.
        XCTAssertEqual(m.dropped, [.words: 37, .subcats: 10, .pages: 0, .hidden: 0, .pattern: 19])
        XCTAssertEqual(m.topics, 28)
        XCTAssertTrue(m.rules.contains(#""pages":"members""#), m.rules)
    }

    func testSamplingIsReproducible() throws {
        try TopicMiner.mine(TopicMiningOptions(categoryDump: "\(fixtures)/hidden/category.sql"), store: store)
        let titles = try store.topicTitles()
        XCTAssertEqual(try TopicSample.draw(3, from: titles, seed: 7, store: "s"), ["Biography maintenance", "Café culture", "Physics"])
        XCTAssertEqual(try TopicSample.draw(3, from: titles, seed: 7, store: "s"), try TopicSample.draw(3, from: titles, seed: 7, store: "s"))
        XCTAssertThrowsError(try TopicSample.draw(8, from: titles, seed: 1, store: "s"))
        XCTAssertThrowsError(try TopicSample.draw(1, from: [], seed: 1, store: "s"))
    }

    /// A malformed dump stops with its byte offset and leaves the previous topics in place.
    func testBadInputLeavesTheStoreAsItWas() throws {
        try TopicMiner.mine(TopicMiningOptions(categoryDump: "\(fixtures)/enwiki-2024-category-excerpt.sql"), store: store)
        let good = "INSERT INTO `category` VALUES (1,'Physics',912,61,2),"
        let cases: [(String, String)] = [
            (good + "(2,'Chem", "bad.sql: byte offset 56: unterminated string: no closing quote before the end of the line"),
            (good + "(2,'Chemistry',700,40,0)", "bad.sql: byte offset 77: expected ',' or ';' after a row, found the end of the line (truncated statement?)"),
            (good + "(2,'Chemistry',700,40);", "bad.sql: byte offset 53: row has 4 columns, expected 5"),
            (good + "(2,'Chemistry','700',40,0);", "bad.sql: byte offset 53: expected cat_id, cat_title, cat_pages, cat_subcats, cat_files as integer, string, integer, integer, integer; found 2, 'Chemistry', '700', 40, 0"),
            (good + "(2,'Caf\u{FFFD}',700,40,0);", ""),
        ]
        for (i, (text, message)) in cases.enumerated() {
            var bytes = Array((text + "\n").utf8)
            if message.isEmpty {
                // Invalid UTF-8: a lone Latin-1 é (0xE9) in the title.
                let at = bytes.firstIndex(of: 0xEF)!
                bytes.replaceSubrange(at..<(at + 3), with: [0xE9])
            }
            let path = "\(dir!)/bad\(i).sql"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try TopicMiner.mine(TopicMiningOptions(categoryDump: path), store: store)) { e in
                let expected = message.isEmpty
                    ? "bad.sql: byte offset 56: cat_title is not valid UTF-8: byte 4 of the title (0xE9) does not continue a UTF-8 sequence"
                    : message
                XCTAssertEqual("\(e)", expected.replacingOccurrences(of: "bad.sql", with: path))
            }
            XCTAssertEqual(try store.topicTitles(), ["Comedy", "Sociolinguistics", "Geography"])
            XCTAssertEqual(try store.latestTopicMining()?.id, 1)
        }
    }

    func testSkipBadCountsAndRecordsRows() throws {
        let text = """
        INSERT INTO `category` VALUES (1,'Physics',912,61,2),(2,'Chemistry',700,40),(3,'Astronomy',900,40,0);
        INSERT INTO `category` VALUES (4,'Geology',900,40,0),(5,'Botany

        """
        let path = try write("skip.sql", text)
        var o = TopicMiningOptions(categoryDump: path)
        o.skipBad = true
        let m = try TopicMiner.mine(o, store: store)
        XCTAssertEqual(m.categories, 3)
        XCTAssertEqual(m.badRows, 2)
        XCTAssertEqual(try store.topicTitles(), ["Physics", "Astronomy", "Geology"])
        XCTAssertEqual(try store.topicBadRows(limit: 10).map(\.byteOffset), [53, 158])
        XCTAssertEqual(try store.topicBadRows(limit: 10).map(\.dump), ["category", "category"])
    }

    func testWrongDumpIsNamed() throws {
        let path = try write("links.sql", "INSERT INTO `categorylinks` VALUES (1,'X','a');\n")
        XCTAssertThrowsError(try TopicMiner.mine(TopicMiningOptions(categoryDump: path), store: store)) { e in
            XCTAssertEqual("\(e)", "\(path): this is a dump of the `categorylinks` table, expected `category` (no INSERT INTO `category` statements)")
        }
        let empty = try write("empty.sql", "-- nothing\n")
        XCTAssertThrowsError(try TopicMiner.mine(TopicMiningOptions(categoryDump: empty), store: store))
    }

    func testDryRunWritesNothing() throws {
        var o = TopicMiningOptions(categoryDump: "\(fixtures)/enwiki-2024-category-excerpt.sql")
        o.dryRun = true
        let m = try TopicMiner.mine(o, store: store)
        XCTAssertEqual(m.topics, 3)
        XCTAssertNil(try store.latestTopicMining())
        XCTAssertEqual(try store.topicTitles(), [])
    }
}
