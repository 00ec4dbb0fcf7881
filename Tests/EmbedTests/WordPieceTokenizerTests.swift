@testable import Embed
import Foundation
import XCTest

/// WordPieceTokenizer against Hugging Face `tokenizers` on the real all-MiniLM-L6-v2 folder
/// (tokenizer_reference.json, from make_tokenizer_reference.py), and on small handmade
/// vocabularies that need no model.
final class WordPieceTokenizerTests: XCTestCase {
    private static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    static var modelDirectory: String {
        let env = ProcessInfo.processInfo.environment
        let root = env["HERD_MODELS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((env["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".cache/herd/models")
        return (root as NSString).appendingPathComponent("all-MiniLM-L6-v2")
    }

    private func modelTokenizer() throws -> WordPieceTokenizer {
        let dir = Self.modelDirectory
        guard FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("vocab.txt")) else {
            throw XCTSkip("all-MiniLM-L6-v2 is not at \(dir): run `make models` (or set HERD_MODELS)")
        }
        return try WordPieceTokenizer(modelDirectory: dir)
    }

    private struct Reference: Decodable {
        struct Case: Decodable {
            var kind: String
            var text: String
            var ids: [Int32]
        }
        var package: String
        var max_length: Int
        var cases: [Case]
    }

    private static func reference() throws -> Reference {
        let url = here.appendingPathComponent("tokenizer_reference.json")
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    // MARK: Real model

    func testModelFolderSettings() throws {
        let t = try modelTokenizer()
        XCTAssertEqual(t.maxLength, 256)   // sentence_bert_config.json overrides 128 and 512
        XCTAssertEqual(t.vocabularySize, 30522)
        XCTAssertEqual(t.padID, 0)
        XCTAssertEqual(t.unkID, 100)
        XCTAssertEqual(t.clsID, 101)
        XCTAssertEqual(t.sepID, 102)
        XCTAssertTrue(t.lowercase)
        XCTAssertTrue(t.stripAccents)
        XCTAssertTrue(t.chineseChars)
        XCTAssertEqual(t.maxInputCharsPerWord, 100)
        XCTAssertEqual(t.tokens("Hello, unaffable world!"), ["hello", ",", "una", "##ffa", "##ble", "world", "!"])
        XCTAssertEqual(t.encode("Hello, world!"), [101, 7592, 1010, 2088, 999, 102])
    }

    func testIdsMatchHuggingFaceTokenizers() throws {
        let t = try modelTokenizer()
        let ref = try Self.reference()
        XCTAssertEqual(ref.max_length, t.maxLength)
        XCTAssertGreaterThanOrEqual(ref.cases.count, 300)
        var failures: [String] = []
        var kinds: [String: Int] = [:]
        for (i, c) in ref.cases.enumerated() {
            kinds[c.kind, default: 0] += 1
            let got = t.encode(c.text)
            if got != c.ids {
                let at = zip(got, c.ids).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(got.count, c.ids.count)
                failures.append("case \(i) [\(c.kind)] \(c.text.debugDescription.prefix(120)): first difference at \(at), "
                                + "got \(got[at...].prefix(6).map { t.token(forID: $0) ?? "?" }) "
                                + "expected \(c.ids[at...].prefix(6).map { t.token(forID: $0) ?? "?" })")
            }
        }
        XCTAssertTrue(failures.isEmpty, "\(failures.count) of \(ref.cases.count) texts differ from \(ref.package):\n"
                      + failures.prefix(20).joined(separator: "\n"))
        XCTAssertGreaterThan(kinds["hard", default: 0], 100)
        XCTAssertGreaterThan(kinds["fuzz", default: 0], 50)
    }

    func testTruncationKeepsSEPOnRealModel() throws {
        let t = try modelTokenizer()
        let ids = t.encode(String(repeating: "hello world ", count: 500))
        XCTAssertEqual(ids.count, 256)
        XCTAssertEqual(ids.first, 101)
        XCTAssertEqual(ids.last, 102)
        XCTAssertEqual(t.tokens(String(repeating: "hello world ", count: 500)).count, 1000)   // untruncated
    }

    func testMissingModelFolderNamesTheFile() {
        XCTAssertThrowsError(try WordPieceTokenizer(modelDirectory: "/nonexistent/herd-model")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/herd-model"), "\(error)")
        }
    }

    func testBadFolderErrorsNameFileAndProblem() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // No vocabulary at all.
        XCTAssertThrowsError(try WordPieceTokenizer(modelDirectory: dir.path)) { error in
            XCTAssertTrue("\(error)".contains("vocab.txt"), "\(error)")
        }
        try "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n".write(to: dir.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        try "{\"max_seq_length\": \"long\"}".write(to: dir.appendingPathComponent("sentence_bert_config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try WordPieceTokenizer(modelDirectory: dir.path)) { error in
            XCTAssertTrue("\(error)".contains("sentence_bert_config.json"), "\(error)")
            XCTAssertTrue("\(error)".contains("max_seq_length"), "\(error)")
        }
        try "{\"max_seq_length\": 8}".write(to: dir.appendingPathComponent("sentence_bert_config.json"), atomically: true, encoding: .utf8)
        try "{\"normalizer\": {\"type\": \"NFKC\"}}".write(to: dir.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try WordPieceTokenizer(modelDirectory: dir.path)) { error in
            XCTAssertTrue("\(error)".contains("tokenizer.json"), "\(error)")
            XCTAssertTrue("\(error)".contains("BertNormalizer"), "\(error)")
        }
        try "{not json".write(to: dir.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try WordPieceTokenizer(modelDirectory: dir.path)) { error in
            XCTAssertTrue("\(error)".contains("tokenizer.json: not valid JSON"), "\(error)")
        }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("tokenizer.json"))
        try "{\"do_lower_case\": false, \"unk_token\": {\"content\": \"[UNK]\"}}".write(
            to: dir.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        let t = try WordPieceTokenizer(modelDirectory: dir.path)
        XCTAssertEqual(t.maxLength, 8)
        XCTAssertFalse(t.lowercase)
        XCTAssertFalse(t.stripAccents)   // strip_accents absent follows lowercase
        XCTAssertEqual(t.encode("hello Hello"), [2, 4, 1, 3])
    }

    // MARK: Handmade vocabulary

    private static let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
                                "un", "##aff", "##able", "aff", "able", "a", "##a", "##b", "b",
                                "hello", "world", "!", ",", "##ll", "he", "cafe", "e", "i", "##i",
                                "##̇", "中", "文", "ab", "##ab", "abc"]

    private func tiny(lowercase: Bool = true, strip: Bool? = nil, maxLength: Int = 64) -> WordPieceTokenizer {
        WordPieceTokenizer(vocabulary: Self.vocab, lowercase: lowercase, stripAccents: strip ?? lowercase,
                           chineseChars: true, maxLength: maxLength)
    }

    func testGreedyLongestMatchFirstWithContinuations() {
        let t = tiny()
        XCTAssertEqual(t.tokens("unaffable"), ["un", "##aff", "##able"])
        XCTAssertEqual(t.tokens("affable"), ["aff", "##able"])
        // Longest first, not a best segmentation: "abc" wins, then "##ab" etc.
        XCTAssertEqual(t.tokens("abcab"), ["abc", "##ab"])
        XCTAssertEqual(t.tokens("ab"), ["ab"])
        XCTAssertEqual(t.tokens("aab"), ["a", "##ab"])
        XCTAssertEqual(t.tokens("abba"), ["ab", "##b", "##a"])
        XCTAssertEqual(t.tokens("hell"), ["he", "##ll"])
        XCTAssertEqual(t.encode("unaffable"), [2, 5, 6, 7, 3])
    }

    func testUnknownRules() {
        let t = tiny()
        // Any position without a match makes the whole word one [UNK].
        XCTAssertEqual(t.tokens("abz"), ["[UNK]"])
        XCTAssertEqual(t.tokens("zab hello"), ["[UNK]", "hello"])
        // A word cannot start with a continuation-only piece.
        XCTAssertEqual(t.tokens("ll"), ["[UNK]"])
        // Words over 100 characters are [UNK] even when every piece exists.
        XCTAssertEqual(t.tokens(String(repeating: "a", count: 100)).count, 100)
        XCTAssertEqual(t.tokens(String(repeating: "a", count: 101)), ["[UNK]"])
        // Characters are counted after normalisation (é → e) and as Unicode scalars.
        XCTAssertEqual(t.tokens(String(repeating: "á", count: 101)), ["[UNK]"])
        XCTAssertEqual(t.tokens("a" + String(repeating: "!", count: 200)).count, 201)
        XCTAssertEqual(t.encode(""), [2, 3])
        XCTAssertEqual(t.encode(" \t\n "), [2, 3])
    }

    func testNormalisationAndPreTokenisation() {
        let t = tiny()
        XCTAssertEqual(t.tokens("Hello,World!"), ["hello", ",", "world", "!"])
        XCTAssertEqual(t.tokens("CAFÉ café cafe\u{0301}"), ["cafe", "cafe", "cafe"])
        XCTAssertEqual(t.tokens("hel\u{0}lo\u{FFFD} wor\u{200B}ld"), ["hello", "world"])   // deleted, not split
        XCTAssertEqual(t.tokens("hello\u{00A0}world\u{3000}!"), ["hello", "world", "!"])
        XCTAssertEqual(t.tokens("a中文b"), ["a", "中", "文", "b"])
        // İ: NFD gives I + U+0307, the mark is stripped, I lowercases to i.
        XCTAssertEqual(t.tokens("İ"), ["i"])
        // Without stripping, char::to_lowercase turns İ into i + U+0307 (two characters).
        XCTAssertEqual(tiny(lowercase: true, strip: false).tokens("İ"), ["i", "##̇"])
        // Cased: nothing is lowercased, accents stay.
        XCTAssertEqual(tiny(lowercase: false).tokens("Hello hello"), ["[UNK]", "hello"])
    }

    func testSpecialTokensInTextAreMatchedExactly() {
        let t = tiny()
        XCTAssertEqual(t.encode("hello [SEP] world"), [2, 14, 3, 15, 3])
        XCTAssertEqual(t.encode("a[MASK]b"), [2, 10, 4, 13, 3])
        // Lower-case spelling is ordinary text: "[", "sep", "]" (not in this vocabulary).
        XCTAssertEqual(t.tokens("[sep]"), ["[UNK]", "[UNK]", "[UNK]"])
    }

    func testTruncationKeepsCLSAndSEP() {
        let t = tiny(maxLength: 5)
        XCTAssertEqual(t.encode("hello world hello world"), [2, 14, 15, 14, 3])
        XCTAssertEqual(t.encode("unaffable unaffable"), [2, 5, 6, 7, 3])
        XCTAssertEqual(t.encode("hello [SEP] [SEP] [SEP]"), [2, 14, 3, 3, 3])
        XCTAssertEqual(t.encode("hello"), [2, 14, 3])
        let two = tiny(maxLength: 2)
        XCTAssertEqual(two.encode("hello world"), [2, 3])
    }

    func testVocabularyLinesAreReadLikeRust() {
        let data = Data("[PAD]\r\ntok  \n\nlast".utf8)
        XCTAssertEqual(WordPieceTokenizer.lines(data), ["[PAD]", "tok", "", "last"])
        XCTAssertEqual(WordPieceTokenizer.lines(Data("a\nb\n".utf8)), ["a", "b"])
    }

    // MARK: Speed (printed, not asserted)

    func testSpeed() throws {
        let t: WordPieceTokenizer
        do { t = try modelTokenizer() } catch { t = tiny() }
        let short = "Give three tips for staying healthy and explain why each one of them matters today."
        let long = String(repeating: "The quick brown fox, named Zoë, jumps over the lazy dog near the café. ", count: 6)
        for (name, text) in [("15-word", short), ("80-word", long)] {
            let n = 2000
            var total = 0
            let start = Date()
            for _ in 0..<n { total &+= t.encode(text).count }
            let s = Date().timeIntervalSince(start)
            print("WordPieceTokenizer \(name): \(Int(Double(n) / s)) texts/s (\(total / n) ids each)")
        }
    }
}
