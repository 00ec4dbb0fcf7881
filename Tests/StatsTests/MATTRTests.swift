import Foundation
import Sampling
@testable import Stats
import XCTest

final class MATTRTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    /// Distinct letter-only words (digits would be deleted by the tokeniser): "waa", "wab", …
    static func word(_ i: Int) -> String {
        "w" + String(UnicodeScalar(UInt8(97 + (i / 26) % 26))) + String(UnicodeScalar(UInt8(97 + i % 26)))
    }

    // MARK: Hand-computed values

    func testFiftyDistinctThenTenRepeats() {
        // Tokens 0…49 are distinct; tokens 50…59 all repeat token 0 (written with other case and
        // punctuation). Window s (0…10) holds tokens s…s+49: 50 - s distinct first-part tokens,
        // plus token 0 again once s ≥ 1. Distinct counts 50, 50, 49, …, 41: sum 505 over 11
        // windows of 50.
        var tokens = (0..<50).map(Self.word)
        tokens += ["WAA,", "Waa.", "waa!", "(waa)", "\"WAA\"", "waa;", "w-aa", "waa?", "wAa", "w1a2a3"]
        let text = tokens.joined(separator: " ")
        let m = MATTR.measure([text])
        XCTAssertEqual(m.tokens, 60)
        XCTAssertEqual(m.types, 50)
        XCTAssertEqual(m.mattr, 505.0 / 550.0)  // 101/110
    }

    func testRunThenDistinct() {
        // 30 × "x" then 30 distinct words: window s has x plus s + 20 distinct words, so
        // s + 21 distinct; sum over s = 0…10 is 286; MATTR = 286 / 550 = 13/25.
        let text = Array(repeating: "x", count: 30).joined(separator: " ") + " "
            + (100..<130).map(Self.word).joined(separator: " ")
        XCTAssertEqual(MATTR.value(of: text), 286.0 / 550.0)
    }

    func testPeriodicPattern() {
        // Period 5 over 60 tokens: every window has 5 distinct tokens: 5/50.
        let text = Array(repeating: "Alpha beta GAMMA delta, epsilon.", count: 12).joined(separator: " ")
        XCTAssertEqual(MATTR.value(of: text), 1.0 / 10.0)
    }

    func testShortTextsUsePlainTTR() {
        XCTAssertEqual(MATTR.value(of: "The the THE cat"), 2.0 / 4.0)
        XCTAssertEqual(MATTR.value(of: ""), 0)
        XCTAssertEqual(MATTR.value(of: "123 -- – — !!! 2024-01-01"), 0)
        // 49 tokens, 48 types.
        let text = (0..<48).map(Self.word).joined(separator: " ") + " WAA"
        XCTAssertEqual(MATTR.value(of: text), 48.0 / 49.0)
        // Exactly 50 tokens: one window.
        XCTAssertEqual(MATTR.value(of: (0..<25).map(Self.word).joined(separator: " ") + " "
                                       + (0..<25).map(Self.word).joined(separator: " ")), 25.0 / 50.0)
    }

    func testJoinedTextsNeverShareATokenAndMatchOneText() {
        XCTAssertEqual(MATTR.measure(["ab", "cd"]).tokens, 2)
        let texts = ["Give three tips for staying healthy.", "Eat well, sleep 8 hours — and exercise!"]
        XCTAssertEqual(MATTR.measure(texts).tokens, MATTR.measure([texts.joined(separator: "\n")]).tokens)
    }

    func testTokenisationRules() {
        func tokens(_ s: String) -> Int64 { MATTR.measure([s]).tokens }
        func types(_ s: String) -> Int64 { MATTR.measure([s]).types }
        XCTAssertEqual(tokens("don't"), 2)
        XCTAssertEqual(tokens("well-known"), 1)
        XCTAssertEqual(types("abc123def abcdef ABC-DEF abc–def abc—def"), 1)
        XCTAssertEqual(tokens("e.g. U.S.A."), 5)
        XCTAssertEqual(types("Café CAFÉ café"), 1)
        XCTAssertEqual(types("cafe\u{301} café"), 2)               // no normalisation
        XCTAssertEqual(types("İSTANBUL i\u{307}stanbul"), 1)        // İ → i + U+0307
        XCTAssertEqual(types("ISTANBUL istanbul ıstanbul"), 2)      // no Turkish rules
        XCTAssertEqual(types("ΟΔΟΣ οδος"), 1)                       // final sigma
        XCTAssertEqual(types("ΑΣΑ ασα"), 1)                         // medial sigma
        XCTAssertEqual(types("Α'Σ'Α α σ α"), 2)                     // ' is case-ignorable: medial σ
        XCTAssertEqual(types("ΑΣ1Α αςα"), 1)                        // the digit ends the context: ς, then goes
        XCTAssertEqual(tokens("a\u{1C}b c\u{A0}d e\u{200B}f"), 5)     // U+200B is not whitespace
        XCTAssertEqual(StatsCalculator.wordCount("a\u{1C}b c\u{A0}d e\u{200B}f"), 4)
        XCTAssertEqual(StatsCalculator.wordCount("  e.g. 3rd-party,\tthings \n"), 3)
        XCTAssertEqual(StatsCalculator.wordCount(""), 0)
    }

    // MARK: Joining streams

    func testAppendingStreamsEqualsOneStream() {
        // A token stream cut at every position (and into many short pieces) and joined again
        // gives the same counts as one stream.
        var rng = SplitMix64(seed: 7)
        let hashes: [UInt64] = (0..<300).map { _ in rng.next() % 40 }
        func whole(_ h: ArraySlice<UInt64>) -> (Int64, Int64, Int) {
            var w = MattrWindow()
            defer { w.deallocate() }
            for x in h { w.add(x) }
            return (w.total, w.sum, w.distinct)
        }
        for cut in [0, 1, 10, 48, 49, 50, 51, 99, 100, 150, 299, 300] {
            for parts in [2, 3, 17] {
                var bounds = [0, cut]
                for k in 1..<parts { bounds.append(cut + (300 - cut) * k / parts) }
                bounds.append(300)
                var joined = MattrWindow()
                defer { joined.deallocate() }
                var pieces: [MattrWindow] = []
                for (a, b) in zip(bounds, bounds.dropFirst()) {
                    var p = MattrWindow()
                    for x in hashes[a..<b] { p.add(x) }
                    pieces.append(p)
                }
                for p in pieces { joined.append(p); p.deallocate() }
                let expected = whole(hashes[...])
                XCTAssertEqual(joined.total, expected.0, "cut \(cut) parts \(parts)")
                XCTAssertEqual(joined.sum, expected.1, "cut \(cut) parts \(parts)")
                XCTAssertEqual(joined.distinct, expected.2, "cut \(cut) parts \(parts)")
            }
        }
        // Short streams (below one window) joined: the type-token ratio of all of them.
        var a = MattrWindow(), b = MattrWindow()
        defer { a.deallocate(); b.deallocate() }
        for x: UInt64 in [1, 2, 3] { a.add(x) }
        for x: UInt64 in [3, 4] { b.add(x) }
        a.append(b)
        XCTAssertEqual(a.mattr, 4.0 / 5.0)
    }

    func testSharedBucketsFallBackToSearchingTheWindow() {
        // Hashes that share table buckets (16 buckets for 70 tokens; then a single bucket)
        // exercise the search of the last tokens.
        for (shift, modulus) in [(7, 70), (11, 70), (11, 3), (20, 55)] as [(UInt64, UInt64)] {
            var rng = SplitMix64(seed: 3)
            let hashes: [UInt64] = (0..<2000).map { _ in ((rng.next() % modulus) << shift) | 5 }
            var w = MattrWindow()
            defer { w.deallocate() }
            var expectedSum: Int64 = 0
            for (i, h) in hashes.enumerated() {
                w.add(h)
                if i >= 49 { expectedSum += Int64(Set(hashes[(i - 49)...i]).count) }
                XCTAssertEqual(w.distinct, Set(hashes[max(0, i - 49)...i]).count, "position \(i)")
            }
            XCTAssertEqual(w.sum, expectedSum)
        }
    }

    // MARK: Reference values from lexicalrichness 0.5.1

    struct Fixture: Decodable {
        struct Case: Decodable { var name: String; var text: String; var tokens: Int64; var terms: Int64; var mattr: Double }
        var window: Int
        var cases: [Case]
    }

    func testCommittedReferenceFixture() throws {
        let data = try Data(contentsOf: Self.here.appendingPathComponent("mattr_reference.json"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: data)
        XCTAssertEqual(fixture.window, MATTR.window)
        XCTAssertGreaterThanOrEqual(fixture.cases.count, 30)
        for c in fixture.cases {
            let m = MATTR.measure([c.text])
            XCTAssertEqual(m.tokens, c.tokens, c.name)
            XCTAssertEqual(m.types, c.terms, c.name)
            XCTAssertEqual(m.mattr, c.mattr, accuracy: 1e-12, c.name)
        }
    }

    /// Random texts built from tricky pieces, checked against the package itself when python3
    /// can import it.
    func testAgainstLexicalRichnessWhenInstalled() throws {
        guard Self.python(["-c", "import lexicalrichness"]) != nil else {
            throw XCTSkip("python3 with lexicalrichness is not available (pip install lexicalrichness==0.5.1)")
        }
        let texts = Self.randomTexts(count: 160, seed: 2024)
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("herd-mattr-\(getpid()).json")
        try JSONSerialization.data(withJSONObject: texts).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let script = Self.here.appendingPathComponent("reference_mattr.py").path
        let out = try XCTUnwrap(Self.python([script, "--eval", input.path]), "reference_mattr.py --eval failed")
        let results = try XCTUnwrap(JSONSerialization.jsonObject(with: out) as? [[String: Any]])
        XCTAssertEqual(results.count, texts.count)
        for (t, r) in zip(texts, results) {
            let m = MATTR.measure([t])
            XCTAssertEqual(m.tokens, (r["tokens"] as? NSNumber)?.int64Value, t.debugDescription)
            XCTAssertEqual(m.types, (r["terms"] as? NSNumber)?.int64Value, t.debugDescription)
            XCTAssertEqual(m.mattr, (r["mattr"] as? NSNumber)?.doubleValue ?? -1, accuracy: 1e-12, t.debugDescription)
        }
    }

    /// Random texts built from pieces that stress the tokeniser (case mappings, final sigma,
    /// Unicode and ASCII separators, digits, dashes, punctuation), some with 50 tokens or more.
    static func randomTexts(count: Int, seed: UInt64) -> [String] {
        let pieces = ["Σ", "σ", "ς", "Α", "α", "ΟΔΟΣ", "'", ".", ":", "-", "–", "—", "1", "42", " ", " ", " ", "\n",
                      "\u{1C}", "\u{1F}", "\u{A0}", "\u{2003}", "\u{3000}", "\u{85}", "\u{200B}", "İ", "ı", "I", "i",
                      "é", "É", "e\u{301}", "ß", "ẞ", "\u{212A}", "\u{2126}", "ǅ", ",", "!", "(", ")", "\t", "’",
                      "the", "The", "THE", "cat", "Cat", "dog", "a", "an", "naïve", "NAÏVE", "東京", "😀", "x", "yz",
                      "\u{345}", "\u{307}", "^", "`", "_", "ﬁ", "Ǆ", "ǈ", "\u{0130}\u{0130}", "ΣΑΣ", "\u{00AD}",
                      "supercalifragilistic", "Internationalization", "ASCII-only words here"]
        var rng = SplitMix64(seed: seed)
        var texts: [String] = []
        for n in 0..<count {
            let length = n < count / 4 ? Int(rng.next() % 40) : Int(40 + rng.next() % 400)
            var t = ""
            for _ in 0..<length {
                // Mostly ASCII pieces in some texts, so that long ASCII stretches sit between
                // non-ASCII chunks.
                let k = n % 3 == 0 && rng.next() % 4 != 0 ? 43 + Int(rng.next() % 11) : Int(rng.next() % UInt64(pieces.count))
                t += pieces[k]
                if rng.next() % 3 == 0 { t += " " }
            }
            texts.append(t)
        }
        return texts
    }

    func testWordCountsMatchSplittingOnWhiteSpace() {
        for t in Self.randomTexts(count: 300, seed: 11) + ["", " ", "a", " a ", "a\u{1C}b", "\u{A0}x\u{A0}"] {
            let expected = t.unicodeScalars.split(whereSeparator: { $0.properties.isWhitespace }).count
            XCTAssertEqual(StatsCalculator.wordCount(t), Int64(expected), t.debugDescription)
        }
    }

    /// Runs python3; its standard output, or nil when it cannot run or fails.
    static func python(_ args: [String]) -> Data? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return p.terminationStatus == 0 ? data : nil
    }
}

