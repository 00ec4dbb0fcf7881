import Dedup
import Foundation
import Sampling
import XCTest

/// ROUGE-L checked against Google's `rouge_score` (rouge-score 0.1.2, NLTK's Porter stemmer):
/// the committed fixture from make_rouge_reference.py, and the package itself when python3 can
/// import it.
final class RougeReferenceTests: XCTestCase {
    private static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    // MARK: Fixture

    private struct Fixture: Decodable {
        struct Pair: Decodable {
            var kind: String
            var target: String
            var prediction: String
            /// [precision, recall, fmeasure] for use_stemmer=False and True.
            var plain: [Double]
            var stemmed: [Double]
        }
        var package: String
        var stems: [String: String]
        var pairs: [Pair]
    }

    private static let fixture: Fixture = {
        let url = here.appendingPathComponent("rouge_reference.json")
        guard let data = try? Data(contentsOf: url), let f = try? JSONDecoder().decode(Fixture.self, from: data) else {
            fatalError("cannot read \(url.path)")
        }
        return f
    }()

    /// Interns tokens to ids so the bit-parallel LCS can be checked on the same pairs.
    private struct Interner {
        var ids: [String: Int32] = [:]
        mutating func ids(_ tokens: [String]) -> [Int32] {
            tokens.map { t in
                if let id = ids[t] { return id }
                let id = Int32(ids.count)
                ids[t] = id
                return id
            }
        }
    }

    private static func values(_ s: RougeScore) -> [Double] { [s.precision, s.recall, s.fmeasure] }

    func testFixtureScoresMatchRougeScoreBitForBit() throws {
        let fixture = Self.fixture
        XCTAssertEqual(fixture.package, "rouge-score 0.1.2")
        XCTAssertGreaterThanOrEqual(fixture.pairs.count, 2000)
        var interner = Interner()
        let lcs = BitParallelLCS()
        var compared = 0, bitIdentical = 0
        for (stem, key) in [(false, \Fixture.Pair.plain), (true, \Fixture.Pair.stemmed)] {
            let tokenizer = RougeTokenizer(stem: stem)
            for pair in fixture.pairs {
                let expected = pair[keyPath: key]
                let target = tokenizer.tokens(pair.target), prediction = tokenizer.tokens(pair.prediction)
                let byDP = RougeL.score(target: target, prediction: prediction)
                let a = interner.ids(target), b = interner.ids(prediction)
                let byBits = RougeL.score(lcsLength: lcs.length(a, b), targetCount: a.count, predictionCount: b.count)
                XCTAssertEqual(byBits, byDP, "\(pair.kind) stem=\(stem): \(pair.target.debugDescription) / \(pair.prediction.debugDescription)")
                XCTAssertEqual(RougeL.score(target: pair.target, prediction: pair.prediction, tokenizer: tokenizer), byDP)
                for (got, want) in zip(Self.values(byDP), expected) {
                    compared += 1
                    if got.bitPattern == want.bitPattern { bitIdentical += 1 }
                    XCTAssertEqual(got, want, accuracy: 1e-12,
                                   "\(pair.kind) stem=\(stem): \(pair.target.debugDescription) / \(pair.prediction.debugDescription)")
                }
            }
        }
        print("rouge_reference.json: \(bitIdentical) of \(compared) scores bit-identical to \(fixture.package)")
        XCTAssertEqual(compared, fixture.pairs.count * 6)
        XCTAssertEqual(bitIdentical, compared, "every score should be the same double as rouge_score's")
    }

    func testFixtureStemsMatchNLTKPorter() {
        let stemmer = PorterStemmer()
        XCTAssertGreaterThan(Self.fixture.stems.count, 2000)
        for (word, stem) in Self.fixture.stems.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(stemmer.stem(word), stem, word)
        }
    }

    // MARK: Hand cases

    func testTokens() {
        let plain = RougeTokenizer(), stemmed = RougeTokenizer(stem: true)
        XCTAssertEqual(plain.tokens("Give three tips for staying healthy."), ["give", "three", "tips", "for", "staying", "healthy"])
        XCTAssertEqual(stemmed.tokens("Give three tips for staying healthy."), ["give", "three", "tip", "for", "stay", "healthi"])
        XCTAssertEqual(plain.tokens(""), [])
        XCTAssertEqual(plain.tokens("?!... --- 東京 😀 é"), [])
        XCTAssertEqual(plain.tokens("don't COVID-19 3.14 snake_case"), ["don", "t", "covid", "19", "3", "14", "snake", "case"])
        XCTAssertEqual(plain.tokens("Café naïve"), ["caf", "na", "ve"])
        // Lower-casing U+212A KELVIN SIGN gives ASCII 'k', which joins its neighbours.
        XCTAssertEqual(plain.tokens("300\u{212A} \u{212A}elvin"), ["300k", "kelvin"])
        // U+0130 lower-cases to 'i' + U+0307: an 'i' that ends its token.
        XCTAssertEqual(plain.tokens("\u{130}stanbul A\u{130}B \u{130}"), ["i", "stanbul", "ai", "b", "i"])
        // Other case mappings give non-ASCII letters: separators.
        XCTAssertEqual(plain.tokens("ＡＢＣ ı ß Å Ω ﬁle"), ["le"])
        // Only tokens longer than three characters are stemmed.
        XCTAssertEqual(stemmed.tokens("runs ran dies skies sky news yyyy"), ["run", "ran", "die", "sky", "sky", "news", "yyyi"])
        XCTAssertEqual(stemmed.tokens("The ties"), ["the", "tie"])
        XCTAssertEqual(stemmed.tokens("TIES generalizations"), ["tie", "gener"])
    }

    func testStemmerRules() {
        let s = PorterStemmer()
        let cases: [(String, String)] = [
            ("caresses", "caress"), ("ponies", "poni"), ("ties", "tie"), ("cats", "cat"), ("feed", "feed"),
            ("agreed", "agre"), ("plastered", "plaster"), ("motoring", "motor"), ("sing", "sing"),
            ("conflated", "conflat"), ("hopping", "hop"), ("falling", "fall"), ("filing", "file"),
            ("happy", "happi"), ("enjoy", "enjoy"), ("dying", "die"), ("relational", "relat"),
            ("radically", "radic"), ("archaeology", "archaeolog"), ("generalization", "gener"),
            ("controlling", "control"), ("1990s", "1990"), ("yyyy", "yyyi"), ("by", "by"), ("RUNNING", "run"),
        ]
        for (word, stem) in cases { XCTAssertEqual(s.stem(word), stem, word) }
    }

    func testScoreFormulaAndArgumentRoles() {
        // target (reference) has 4 tokens, prediction (candidate) 5, LCS 3.
        let s = RougeL.score(target: ["a", "b", "c", "d"], prediction: ["a", "x", "b", "c", "y"])
        XCTAssertEqual(s.precision, 3.0 / 5.0)
        XCTAssertEqual(s.recall, 3.0 / 4.0)
        XCTAssertEqual(s.fmeasure, 2 * (3.0 / 5.0) * (3.0 / 4.0) / (3.0 / 5.0 + 3.0 / 4.0))
        XCTAssertEqual(s.fmeasure, 0.6666666666666665)  // rouge_score's value; 2/3 rounds to ...666
        let swapped = RougeL.score(target: ["a", "x", "b", "c", "y"], prediction: ["a", "b", "c", "d"])
        XCTAssertEqual(swapped.precision, s.recall)
        XCTAssertEqual(swapped.recall, s.precision)
        XCTAssertEqual(swapped.fmeasure.bitPattern, s.fmeasure.bitPattern)
        XCTAssertEqual(RougeL.score(target: [String](), prediction: ["a"]), .zero)
        XCTAssertEqual(RougeL.score(target: ["a"], prediction: ["b"]), .zero)
        XCTAssertEqual(RougeL.score(target: "Give three tips.", prediction: "give THREE tips!!"),
                       RougeScore(precision: 1, recall: 1, fmeasure: 1))
    }

    // MARK: Bit-parallel LCS

    func testBitParallelLCSMatchesDynamicProgramming() {
        var rng = SplitMix64(seed: 0x5EED)
        let lcs = BitParallelLCS()
        for trial in 0..<3000 {
            let alphabet = [2, 3, 5, 20, 1000][trial % 5]
            let m = Int(rng.next() % 301), n = Int(rng.next() % 301)
            // Ids spread over Int32, negatives included, so the hash table sees varied keys.
            let offset = Int32(truncatingIfNeeded: Int64(rng.next() % 4_000_000_000) - 2_000_000_000)
            let a = (0..<m).map { _ in offset &+ Int32(rng.next() % UInt64(alphabet)) &* 7919 }
            let b = (0..<n).map { _ in offset &+ Int32(rng.next() % UInt64(alphabet)) &* 7919 }
            let expected = LCS.lengthByDynamicProgramming(a, b)
            XCTAssertEqual(lcs.length(a, b), expected, "m=\(m) n=\(n) alphabet=\(alphabet)")
            XCTAssertEqual(lcs.length(b, a), expected)
            XCTAssertEqual(LCS.length(a, b), expected)
        }
        // Every pattern length around the word boundaries, against a fixed text.
        let text = (0..<300).map { Int32($0 % 7) }
        for m in [0, 1, 2, 63, 64, 65, 127, 128, 129, 191, 192, 193, 255, 256, 257, 300] {
            let pattern = (0..<m).map { Int32(($0 * 3) % 7) }
            lcs.setPattern(pattern)
            XCTAssertEqual(lcs.patternLength, m)
            for n in [0, 1, 64, 65, 128, 300] {
                let t = Array(text.prefix(n))
                XCTAssertEqual(lcs.lengthAgainstPattern(t), LCS.lengthByDynamicProgramming(pattern, t), "m=\(m) n=\(n)")
            }
        }
        // Identical sequences: the LCS is the whole sequence, at every length.
        for m in 0...200 {
            let a = (0..<m).map { Int32($0 % 13) }
            XCTAssertEqual(lcs.length(a, a), m)
        }
    }

    func testPatternReusedAcrossManyTexts() {
        var rng = SplitMix64(seed: 77)
        let lcs = BitParallelLCS()
        for _ in 0..<50 {
            let pattern = (0..<Int(rng.next() % 150)).map { _ in Int32(rng.next() % 12) }
            lcs.setPattern(pattern)
            for _ in 0..<20 {
                let text = (0..<Int(rng.next() % 150)).map { _ in Int32(rng.next() % 12) }
                XCTAssertEqual(lcs.lengthAgainstPattern(text), LCS.lengthByDynamicProgramming(pattern, text))
            }
        }
    }

    // MARK: The package itself

    /// Freshly generated random pairs (seed printed, or set HERD_ROUGE_SEED) scored by the
    /// installed rouge_score through make_rouge_reference.py --eval.
    func testAgainstRougeScoreWhenInstalled() throws {
        guard runPython(["-c", "import rouge_score"]) != nil else {
            throw XCTSkip("python3 with rouge_score is not available (pip install rouge-score==0.1.2)")
        }
        let seed = ProcessInfo.processInfo.environment["HERD_ROUGE_SEED"].flatMap(UInt64.init)
            ?? UInt64(Date().timeIntervalSince1970 * 1000)
        let pairs = Self.randomPairs(count: 300, seed: seed)
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("herd-rouge-\(getpid()).json")
        try JSONSerialization.data(withJSONObject: pairs.map { [$0.0, $0.1] }).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let script = Self.here.appendingPathComponent("make_rouge_reference.py").path
        let out = try XCTUnwrap(runPython([script, "--eval", input.path]), "make_rouge_reference.py --eval failed")
        // JSONDecoder, not JSONSerialization: the latter's NSNumbers can be off in the last bit.
        let results = try JSONDecoder().decode([EvalResult].self, from: out)
        XCTAssertEqual(results.count, pairs.count)
        let plain = RougeTokenizer(), stemmed = RougeTokenizer(stem: true)
        var bitIdentical = 0
        for ((target, prediction), r) in zip(pairs, results) {
            let context = "seed \(seed): \(target.debugDescription) / \(prediction.debugDescription)"
            XCTAssertEqual(plain.tokens(target), r.target_tokens, context)
            XCTAssertEqual(plain.tokens(prediction), r.prediction_tokens, context)
            XCTAssertEqual(stemmed.tokens(target), r.target_stemmed_tokens, context)
            XCTAssertEqual(stemmed.tokens(prediction), r.prediction_stemmed_tokens, context)
            for (tokenizer, key, want) in [(plain, "plain", r.plain), (stemmed, "stemmed", r.stemmed)] {
                let got = Self.values(RougeL.score(target: target, prediction: prediction, tokenizer: tokenizer))
                XCTAssertEqual(want.count, 3, context)
                for (g, w) in zip(got, want) {
                    XCTAssertEqual(g, w, accuracy: 1e-12, "\(key) \(context)")
                    if g.bitPattern == w.bitPattern { bitIdentical += 1 }
                }
            }
        }
        XCTAssertEqual(bitIdentical, pairs.count * 6, "seed \(seed)")
    }

    /// One line of make_rouge_reference.py --eval output.
    private struct EvalResult: Decodable {
        var plain: [Double]
        var stemmed: [Double]
        var target_tokens: [String]
        var prediction_tokens: [String]
        var target_stemmed_tokens: [String]
        var prediction_stemmed_tokens: [String]
    }

    /// Texts from pieces that stress the tokenizer and the stemmer, and near-copies of them.
    private static func randomPairs(count: Int, seed: UInt64) -> [(String, String)] {
        let pieces = ["Write", "a", "short", "story", "about", "the", "THE", "The", "running", "runs", "ran", "runner",
                      "generalization", "generalize", "happiness", "happy", "enjoy", "enjoyment", "dying", "skies",
                      "news", "innings", "flies", "dies", "spied", "agreed", "feed", "hopping", "falling", "filing",
                      "yyyy", "syzygy", "relational", "archaeology", "1990s", "3rd", "covid-19", "42", "3.14",
                      "don't", "e-mail", "\u{212A}", "300\u{212A}", "\u{130}stanbul", "\u{130}", "ı", "é", "Café",
                      "naïve", "ß", "東京", "😀", "ＡＢＣ", "\u{301}", "\u{307}", "Σ", ",", ".", "!", "?", "—", "’",
                      "\n", "\t", " ", "\u{A0}", "_", "(", ")", "\"", "ﬁle", "Ⅳ", "x²"]
        var rng = SplitMix64(seed: seed)
        func word() -> String { pieces[Int(rng.next() % UInt64(pieces.count))] }
        var pairs: [(String, String)] = []
        for k in 0..<count {
            let length = k % 10 == 0 ? Int(60 + rng.next() % 150) : Int(rng.next() % 25)
            var a: [String] = (0..<length).map { _ in word() }
            var b = a
            for _ in 0..<Int(rng.next() % 5) {
                let i = b.isEmpty ? 0 : Int(rng.next() % UInt64(b.count))
                switch rng.next() % 5 {
                case 0: if !b.isEmpty { b.remove(at: i) }
                case 1: b.insert(word(), at: i)
                case 2: if !b.isEmpty { b[i] = word() }
                case 3: if i + 1 < b.count { b.swapAt(i, i + 1) }
                default: if !b.isEmpty { b[i] = b[i].uppercased() }
                }
            }
            if k % 7 == 0 { a = (0..<Int(rng.next() % 12)).map { _ in word() } }  // unrelated pair
            let separator = rng.next() % 4 == 0 ? "" : " "
            pairs.append((a.joined(separator: separator), b.joined(separator: " ")))
        }
        return pairs
    }
}

